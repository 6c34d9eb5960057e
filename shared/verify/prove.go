package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cacheport/cacheport/shared/awserr"
	"github.com/cacheport/cacheport/shared/export"
	"github.com/cacheport/cacheport/shared/mcdump"
	"github.com/cacheport/cacheport/shared/rdb"
	"github.com/cacheport/cacheport/shared/s3read"
)

// assumedRate is the read-and-prove rate used to decide whether an object still fits in what is
// left of an invocation (bytes per second; measured rates are far higher, so this errs towards
// handing over early).
const assumedRate = 50 << 20

// Deadline checks while an object is proven: every checkKeys keys or checkBytes bytes, whichever
// comes first, so that the check costs nothing beside the parse and a slow key cannot run late.
const (
	checkKeys  = 4096
	checkBytes = 8 << 20
)

// prove proves every object of a verifying export not proven yet, checkpointing each proof in the
// record. When the invocation's deadline draws near it hands over (Export Verifying): before
// starting an object it cannot finish, or inside one, at a key boundary, with the RDB verifier's
// checkpoint saved in the record, from which the next invocation resumes with a ranged read.
// When all are proven it writes the manifest and moves the export to verified.
func (v *Verifier) prove(ctx context.Context, e *export.Export) Result {
	res := Result{ExportID: e.ExportID, Cache: e.Cache.ID}
	objs := append([]export.Object(nil), e.Objects...)
	sort.Slice(objs, func(i, j int) bool { return objs[i].Key < objs[j].Key })
	provedHere := 0
	for _, o := range objs {
		if _, done := e.Checkpoint[cpProofPrefix+o.Key]; done {
			continue
		}
		partial := v.partial(e, o)
		from := int64(0)
		if partial != nil {
			from = partial.Offset
		}
		if provedHere > 0 && !v.fits(ctx, o.Size-from) {
			return v.handOver(ctx, e, res, o, provedHere)
		}
		t0 := time.Now()
		proof, next, damage := v.proveObject(ctx, e, o, partial)
		if damage != nil {
			return v.fail(ctx, e, *damage)
		}
		if next != nil {
			b, _ := json.Marshal(next)
			err := v.m.Save(ctx, e, func(r *export.Record) {
				if r.Checkpoint == nil {
					r.Checkpoint = map[string]string{}
				}
				r.Checkpoint[cpPartialPrefix+o.Key] = string(b)
			})
			if err != nil {
				return v.moveErr(e, err, OutcomeVerifying)
			}
			v.metrics.Emit("BytesVerified", float64(next.Offset-from), "Bytes", nil)
			v.metrics.Emit("VerifySeconds", time.Since(t0).Seconds(), "Seconds", nil)
			v.log.Info("object checkpointed", "export_id", e.ExportID, "key", o.Key, "from", from, "offset", next.Offset, "bytes", o.Size, "keys", next.Counts.Keys, "seconds", time.Since(t0).Seconds())
			return v.handOver(ctx, e, res, o, provedHere)
		}
		b, _ := json.Marshal(proof)
		err := v.m.Save(ctx, e, func(r *export.Record) {
			if r.Checkpoint == nil {
				r.Checkpoint = map[string]string{}
			}
			r.Checkpoint[cpProofPrefix+o.Key] = string(b)
			delete(r.Checkpoint, cpPartialPrefix+o.Key)
		})
		if err != nil {
			return v.moveErr(e, err, OutcomeVerifying)
		}
		provedHere++
		v.metrics.Count("ObjectsVerified", 1, nil)
		v.metrics.Emit("BytesVerified", float64(o.Size-from), "Bytes", nil)
		v.metrics.Emit("VerifySeconds", time.Since(t0).Seconds(), "Seconds", nil)
		v.log.Info("object proven", "export_id", e.ExportID, "key", o.Key, "bytes", o.Size, "from", from, "keys", proof.Keys, "checksum", proof.Checksum, "seconds", time.Since(t0).Seconds())
	}
	return v.finish(ctx, e)
}

// handOver publishes Export Verifying so that another invocation goes on with o.
func (v *Verifier) handOver(ctx context.Context, e *export.Export, res Result, o export.Object, provedHere int) Result {
	if err := v.m.Publish(ctx, e, export.DetailVerifying); err != nil {
		return v.errResult(e, err)
	}
	v.log.Info("verification handed over", "export_id", e.ExportID, "proved", provedHere, "next", o.Key)
	res.Outcome, res.Stage, res.Object = OutcomeHandedOn, string(e.Stage), o.Key
	return res
}

// partial returns the checkpoint an earlier invocation saved inside o, or nil. One that does not
// decode is dropped: the object is then proven from its start.
func (v *Verifier) partial(e *export.Export, o export.Object) *rdb.Checkpoint {
	raw, ok := e.Checkpoint[cpPartialPrefix+o.Key]
	if !ok || strings.HasSuffix(o.Key, MemcachedSuffix) {
		return nil
	}
	var cp rdb.Checkpoint
	if err := json.Unmarshal([]byte(raw), &cp); err != nil {
		v.log.Warn("checkpoint inside an object does not decode; proving it from the start", "export_id", e.ExportID, "key", o.Key, "error", err)
		return nil
	}
	return &cp
}

// late reports whether the invocation must stop now to keep its headroom.
func (v *Verifier) late(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < v.opts.Headroom
}

// fits reports whether an object of size bytes can be proven before the invocation's deadline,
// keeping the headroom to checkpoint and hand over.
func (v *Verifier) fits(ctx context.Context, size int64) bool {
	dl, ok := ctx.Deadline()
	if !ok {
		return true
	}
	need := v.opts.Headroom + time.Duration(float64(size)/assumedRate*float64(time.Second))
	return time.Until(dl) > need
}

// proveObject streams one object through the RDB verifier, from its start or from cp. When the
// invocation's deadline draws near it stops at a key boundary and returns the checkpoint to go
// on from instead of a proof. A read error is retried once before it counts, and is reported as
// a read failure, not as damage.
func (v *Verifier) proveObject(ctx context.Context, e *export.Export, o export.Object, cp *rdb.Checkpoint) (ObjectProof, *rdb.Checkpoint, *export.Error) {
	if strings.HasSuffix(o.Key, MemcachedSuffix) {
		proof, damage := v.proveDump(ctx, e, o)
		return proof, nil, damage
	}
	var rep *rdb.Report
	var next *rdb.Checkpoint
	var err error
	for try := 0; try < 2; try++ {
		rep, next, err = v.readAndVerify(ctx, o, cp)
		if cp != nil && errors.Is(err, rdb.ErrCheckpoint) {
			v.log.Warn("checkpoint inside an object refused; proving it from the start", "export_id", e.ExportID, "key", o.Key, "error", err)
			cp = nil
			try--
			continue
		}
		if err == nil || errors.Is(err, s3read.ErrChanged) || ctx.Err() != nil {
			break
		}
		v.log.Warn("read failed; retrying once", "export_id", e.ExportID, "key", o.Key, "error", err)
	}
	if err == nil && next != nil {
		return ObjectProof{}, next, nil
	}
	proof, damage := rdbProof(o, rep, err)
	return proof, nil, damage
}

// rdbProof turns the RDB verifier's verdict on o into its proof or the failure it means.
func rdbProof(o export.Object, rep *rdb.Report, err error) (ObjectProof, *export.Error) {
	switch {
	case errors.Is(err, s3read.ErrChanged), errors.Is(err, errETagChanged):
		return ObjectProof{}, &export.Error{Code: CodeObjectChanged, Object: o.Key, Message: fmt.Sprintf("%s changed after the export recorded it: %v", o.Key, err)}
	case err != nil:
		return ObjectProof{}, &export.Error{Code: CodeReadFailed, Object: o.Key, Message: fmt.Sprintf("reading %s failed twice (%s): %v", o.Key, awserr.Classify(err), err)}
	case !rep.Valid:
		return ObjectProof{}, &export.Error{Code: damageCode(rep), Object: o.Key, Message: fmt.Sprintf("%s is not a valid RDB file: %s", o.Key, rep.Error)}
	case rep.Bytes != o.Size:
		return ObjectProof{}, &export.Error{Code: CodeTruncatedObject, Object: o.Key, Message: fmt.Sprintf("%s: read %d bytes, the listing said %d", o.Key, rep.Bytes, o.Size)}
	}
	checksum := rep.Checksum
	if checksum == rdb.ChecksumNone {
		checksum = rdb.ChecksumDisabled // versions before 5 carry no trailer
	}
	dbs := rep.Databases
	if dbs == nil {
		dbs = []int{}
	}
	return ObjectProof{
		Key: o.Key, Size: o.Size, ETag: o.ETag, SHA256: rep.SHA256, Format: FormatRDB, Checksum: checksum,
		Keys: rep.Keys, Expires: rep.Expires, Warnings: rep.Warnings, RDBVersion: rep.RDBVersion, Dialect: rep.Dialect,
		KeysByDB: rep.KeysByDB, Databases: dbs,
	}, nil
}

// proveDump streams one Memcached dump through mcdump.Verify, with the same retry and the same
// failure codes as an RDB file.
func (v *Verifier) proveDump(ctx context.Context, e *export.Export, o export.Object) (ObjectProof, *export.Error) {
	var rep mcdump.Report
	var err error
	for try := 0; try < 2; try++ {
		rep, err = v.readDump(ctx, o)
		if err == nil || errors.Is(err, s3read.ErrChanged) || ctx.Err() != nil {
			break
		}
		v.log.Warn("read failed; retrying once", "export_id", e.ExportID, "key", o.Key, "error", err)
	}
	switch {
	case errors.Is(err, s3read.ErrChanged), errors.Is(err, errETagChanged):
		return ObjectProof{}, &export.Error{Code: CodeObjectChanged, Object: o.Key, Message: fmt.Sprintf("%s changed after the export recorded it: %v", o.Key, err)}
	case err != nil:
		return ObjectProof{}, &export.Error{Code: CodeReadFailed, Object: o.Key, Message: fmt.Sprintf("reading %s failed twice (%s): %v", o.Key, awserr.Classify(err), err)}
	case !rep.Valid:
		code := CodeCorruptObject
		switch {
		case rep.Checksum == mcdump.ChecksumMismatch:
			code = CodeChecksumMismatch
		case rep.Incomplete:
			code = CodeTruncatedObject
		}
		return ObjectProof{}, &export.Error{Code: code, Object: o.Key, Message: fmt.Sprintf("%s is not a valid %s dump: %s", o.Key, FormatMemcached, rep.Error)}
	case rep.Bytes != o.Size:
		return ObjectProof{}, &export.Error{Code: CodeTruncatedObject, Object: o.Key, Message: fmt.Sprintf("%s: read %d bytes, the listing said %d", o.Key, rep.Bytes, o.Size)}
	}
	return ObjectProof{
		Key: o.Key, Size: o.Size, ETag: o.ETag, SHA256: rep.SHA256, Format: FormatMemcached, Checksum: rep.Checksum,
		Keys: rep.Keys, Expires: rep.Expires, Warnings: rep.Warnings,
	}, nil
}

func (v *Verifier) readDump(ctx context.Context, o export.Object) (mcdump.Report, error) {
	r, err := v.open(ctx, o, 0)
	if err != nil {
		return mcdump.Report{}, err
	}
	defer r.Close()
	return mcdump.Verify(r)
}

var errETagChanged = errors.New("etag differs from the one recorded")

// readAndVerify reads o through the RDB verifier, from its start or, resuming, from where cp
// says (cp.ReadFrom, less than 2 MiB before cp.Offset). The verifier stops at a key
// boundary (returning a checkpoint) once the deadline draws near; the deadline is checked every
// checkKeys keys or checkBytes bytes.
func (v *Verifier) readAndVerify(ctx context.Context, o export.Object, cp *rdb.Checkpoint) (*rdb.Report, *rdb.Checkpoint, error) {
	readFrom, from := int64(0), int64(0)
	if cp != nil {
		readFrom, from = cp.ReadFrom, cp.Offset
	}
	r, err := v.open(ctx, o, readFrom)
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	every := v.checkKeys
	if every <= 0 {
		every = checkKeys
	}
	keys, last := 0, from
	stop := func(off int64) bool {
		if keys++; keys < every && off-last < checkBytes {
			return false
		}
		keys, last = 0, off
		return v.late(ctx)
	}
	rep, next, err := rdb.VerifyFrom(r, cp, stop)
	if err != nil || next != nil {
		return nil, next, err
	}
	rep.Source = "s3://" + v.opts.Bucket + "/" + o.Key
	return rep, nil, nil
}

// open opens o for one streaming read from offset from, checking that it is still the object
// recorded.
func (v *Verifier) open(ctx context.Context, o export.Object, from int64) (*s3read.Reader, error) {
	r, err := s3read.Open(ctx, v.s3, v.opts.Bucket, o.Key, func(so *s3read.Options) {
		so.Offset = from
		if v.opts.PartSize > 0 {
			so.PartSize = v.opts.PartSize
		}
		if v.opts.Parts > 0 {
			so.Parts = v.opts.Parts
		}
	})
	if err != nil {
		return nil, err
	}
	if o.ETag != "" && strings.Trim(r.ETag(), `"`) != strings.Trim(o.ETag, `"`) {
		r.Close()
		return nil, fmt.Errorf("%s: %w (now %s, recorded %s)", o.Key, errETagChanged, r.ETag(), o.ETag)
	}
	return r, nil
}

// damageCode names what is wrong with an invalid file.
func damageCode(rep *rdb.Report) string {
	switch {
	case rep.Checksum == rdb.ChecksumMismatch, errors.Is(rep.Cause, rdb.ErrChecksum):
		return CodeChecksumMismatch
	case errors.Is(rep.Cause, io.ErrUnexpectedEOF):
		return CodeTruncatedObject
	}
	return CodeCorruptObject
}

// finish writes the manifest (once: a conditional create) and moves the export to verified.
func (v *Verifier) finish(ctx context.Context, e *export.Export) Result {
	var proofs []ObjectProof
	for _, o := range e.Objects {
		var p ObjectProof
		if err := json.Unmarshal([]byte(e.Checkpoint[cpProofPrefix+o.Key]), &p); err != nil {
			return v.errResult(e, fmt.Errorf("checkpointed proof of %s: %w", o.Key, err))
		}
		proofs = append(proofs, p)
	}
	sort.Slice(proofs, func(i, j int) bool { return proofs[i].Key < proofs[j].Key })
	now := v.m.Now()
	started, _ := time.Parse(time.RFC3339Nano, e.Checkpoint[cpStartedAt])
	shards := e.Cache.Shards
	if e.Cache.Kind == export.KindServerless {
		shards = len(proofs)
	}
	man := Manifest{
		Format: ManifestFormat, ExportID: e.ExportID, Cache: e.Cache,
		Source:  ManifestSource{Snapshot: e.Source.Snapshot, Shards: shards},
		Objects: proofs, Restore: restoreOf(proofs), VerifiedAt: now, CacheportVersion: v.opts.Version,
	}
	if !started.IsZero() {
		man.DurationMS = now.Sub(started).Milliseconds()
	}
	body, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return v.errResult(e, err)
	}
	key := e.Layout().ManifestKey()
	_, err = v.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(v.opts.Bucket), Key: aws.String(key), Body: bytes.NewReader(body),
		ContentType: aws.String("application/json"), IfNoneMatch: aws.String("*")})
	if err != nil && awserr.Classify(err) != awserr.Conflict {
		return v.errResult(e, fmt.Errorf("write manifest s3://%s/%s: %w", v.opts.Bucket, key, err))
	}
	if err != nil {
		// Another invocation wrote it first: it must be this export's.
		if cerr := v.sameManifest(ctx, key, e.ExportID); cerr != nil {
			return v.errResult(e, cerr)
		}
	}
	total := int64(0)
	for _, p := range proofs {
		total += p.Keys
	}
	err = v.m.Move(ctx, e, export.StageVerified, fmt.Sprintf("%d object(s), %d keys proven", len(proofs), total), func(r *export.Record) {
		for k := range r.Checkpoint {
			if strings.HasPrefix(k, cpProofPrefix) || strings.HasPrefix(k, cpPartialPrefix) {
				delete(r.Checkpoint, k)
			}
		}
	})
	if err != nil {
		return v.moveErr(e, err, OutcomeVerified)
	}
	v.metrics.Count("ExportsVerified", 1, map[string]string{"Kind": string(e.Cache.Kind)})
	v.log.Info("export verified", "export_id", e.ExportID, "cache", e.Cache.ID, "objects", len(proofs), "keys", total, "manifest", key)
	return Result{ExportID: e.ExportID, Cache: e.Cache.ID, Outcome: OutcomeVerified, Stage: string(e.Stage)}
}

func (v *Verifier) sameManifest(ctx context.Context, key, exportID string) error {
	out, err := v.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(v.opts.Bucket), Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("read existing manifest %s: %w", key, err)
	}
	defer out.Body.Close()
	var m Manifest
	if err := json.NewDecoder(io.LimitReader(out.Body, 16<<20)).Decode(&m); err != nil {
		return fmt.Errorf("existing manifest %s: %w", key, err)
	}
	if m.Format != ManifestFormat || m.ExportID != exportID {
		return fmt.Errorf("manifest %s already exists for export %q", key, m.ExportID)
	}
	return nil
}
