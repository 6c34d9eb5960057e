package cleanup

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cacheport/cacheport/shared/awserr"
	"github.com/cacheport/cacheport/shared/export"
	"github.com/cacheport/cacheport/shared/targets"
)

// What a Removal names.
const (
	removedObject   = "object"
	removedSnapshot = "snapshot"
)

// pass collects what one cleanup pass removed (or, in a dry run, would remove), what it had to
// leave for later and what it refused.
type pass struct {
	removals  []export.Removal
	deleted   []string
	pending   []string
	refused   []string
	versions  int
	snapshots int
}

func (p *pass) merge(o *pass) {
	p.removals = append(p.removals, o.removals...)
	p.deleted = append(p.deleted, o.deleted...)
	p.pending = append(p.pending, o.pending...)
	p.refused = append(p.refused, o.refused...)
	p.versions += o.versions
	p.snapshots += o.snapshots
}

func (p *pass) fill(r *Result) {
	r.Deleted = append(r.Deleted, p.deleted...)
	r.Refused = append(r.Refused, p.refused...)
}

// version is one object version or delete marker found by listVersions.
type version struct{ key, id string }

// listVersions lists every version and delete marker under prefix whose key match accepts.
func (c *Cleaner) listVersions(ctx context.Context, prefix string, match func(string) bool) ([]version, error) {
	var out []version
	in := &s3.ListObjectVersionsInput{Bucket: aws.String(c.opts.Bucket), Prefix: aws.String(prefix)}
	for {
		page, err := c.s3.ListObjectVersions(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list versions under s3://%s/%s: %w", c.opts.Bucket, prefix, err)
		}
		for _, v := range page.Versions {
			if k := aws.ToString(v.Key); match(k) {
				out = append(out, version{k, aws.ToString(v.VersionId)})
			}
		}
		for _, m := range page.DeleteMarkers {
			if k := aws.ToString(m.Key); match(k) {
				out = append(out, version{k, aws.ToString(m.VersionId)})
			}
		}
		if !aws.ToBool(page.IsTruncated) {
			return out, nil
		}
		if page.NextKeyMarker == nil && page.NextVersionIdMarker == nil {
			return nil, fmt.Errorf("list versions under s3://%s/%s: truncated page without a marker", c.opts.Bucket, prefix)
		}
		in.KeyMarker, in.VersionIdMarker = page.NextKeyMarker, page.NextVersionIdMarker
	}
}

// removeKeys deletes every version and delete marker under prefix whose key match accepts, one
// DeleteObject with VersionId each (a plain delete would leave the data as a noncurrent version
// in a versioned bucket). It records one removal per key.
func (c *Cleaner) removeKeys(ctx context.Context, p *pass, prefix string, match func(string) bool) error {
	vs, err := c.listVersions(ctx, prefix, match)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	now := c.m.Now()
	for _, v := range vs {
		if !c.opts.DryRun {
			in := &s3.DeleteObjectInput{Bucket: aws.String(c.opts.Bucket), Key: aws.String(v.key)}
			if v.id != "" {
				in.VersionId = aws.String(v.id)
			}
			if _, err := c.s3.DeleteObject(ctx, in); err != nil && awserr.Classify(err) != awserr.NotFound {
				return fmt.Errorf("delete s3://%s/%s version %s: %w", c.opts.Bucket, v.key, v.id, err)
			}
		}
		p.versions++
		p.deleted = append(p.deleted, v.key+"?versionId="+v.id)
		if !seen[v.key] {
			seen[v.key] = true
			p.removals = append(p.removals, export.Removal{What: removedObject, Name: v.key, At: now})
		}
	}
	return nil
}

// stemMatch reports whether key belongs to the snapshot stem (cacheport-EXPORT_ID-aN): it is the
// stem, or the stem followed by anything but a digit (so that a1 never takes a10's keys).
func stemMatch(key, stem string) bool {
	rest, ok := strings.CutPrefix(key, stem)
	return ok && (rest == "" || rest[0] < '0' || rest[0] > '9')
}

// attemptScope is where attempt n of e wrote: its folder P/CACHE/EXPORT_ID/aN/, and for a
// serverless export the keys AWS named after the attempt's snapshot (never anything under P/,
// so that an odd prefix cannot make the stem reach a record or a manifest).
func (c *Cleaner) attemptScope(e *export.Export, n int) func(string) bool {
	dir := e.Layout().AttemptDir(n)
	stem := export.SnapshotName(e.ExportID, n)
	serverless := e.Cache.Kind == export.KindServerless
	return func(k string) bool {
		if strings.HasPrefix(k, dir) {
			return true
		}
		return serverless && stemMatch(k, stem) && !strings.HasPrefix(k, c.opts.Prefix+"/")
	}
}

// removeAttempt removes what attempt n of e wrote: every object version in the attempt's scope
// (the keys the record lists for it are checked against the same scope), then the snapshot
// cacheport made for it.
func (c *Cleaner) removeAttempt(ctx context.Context, e *export.Export, n int) (*pass, error) {
	p := &pass{}
	inScope := c.attemptScope(e, n)
	if err := c.removeKeys(ctx, p, e.Layout().AttemptDir(n), inScope); err != nil {
		return p, err
	}
	if e.Cache.Kind == export.KindServerless {
		if err := c.removeStemKeys(ctx, p, e, n); err != nil {
			return p, err
		}
	}
	if n == e.Attempt {
		for _, o := range e.Objects {
			if !inScope(o.Key) {
				p.refused = append(p.refused, o.Key+": recorded, but outside the attempt's keys")
			}
		}
	}
	return p, c.removeSnapshot(ctx, p, e, n)
}

// removeStemKeys removes the keys AWS named after the snapshot of attempt n of a serverless
// export. Export ids may themselves contain "-aN", so a key that also reads as the stem of
// another export that has a record is left alone and reported (it may be that export's),
// unless this attempt's record lists it among its objects.
func (c *Cleaner) removeStemKeys(ctx context.Context, p *pass, e *export.Export, n int) error {
	inScope := c.attemptScope(e, n)
	claimed := map[string]bool{}
	if n == e.Attempt {
		for _, o := range e.Objects {
			claimed[o.Key] = false
		}
	}
	var ferr error
	match := func(k string) bool {
		if !inScope(k) {
			return false
		}
		if cl, ok := claimed[k]; ok {
			return !cl
		}
		claimed[k] = false
		for _, ref := range parseStem(k, false) {
			if ref.id == e.ExportID {
				continue
			}
			_, ok, err := c.findExport(ctx, ref.id, "")
			if err != nil && ferr == nil {
				ferr = err
			}
			if err != nil || ok {
				claimed[k] = true
				p.refused = append(p.refused, k+": also reads as a key of export "+ref.id)
				break
			}
		}
		return !claimed[k]
	}
	if err := c.removeKeys(ctx, p, export.SnapshotName(e.ExportID, n), match); err != nil {
		return err
	}
	return ferr
}

// removeSnapshot deletes the snapshot cacheport made for attempt n of e, once it has proved it
// is cacheport's: the name is the attempt's, the tags are cacheport's for this export, and it is
// not an automatic backup. A snapshot in a transitional state is left for later (pending).
func (c *Cleaner) removeSnapshot(ctx context.Context, p *pass, e *export.Export, n int) error {
	if e.Cache.Kind == export.KindMemcached {
		return nil // no snapshot: cacheport dumps Memcached nodes itself
	}
	name := export.SnapshotName(e.ExportID, n)
	sn, found, err := targets.DescribeSnapshot(ctx, c.ec, e.Cache.Kind, name)
	if err != nil {
		return err
	}
	switch {
	case !found:
		return nil
	case sn.Automated:
		p.refused = append(p.refused, "snapshot "+name+": an automatic backup")
		return nil
	case sn.ARN == "":
		p.refused = append(p.refused, "snapshot "+name+": no ARN to read its tags")
		return nil
	}
	tags, err := c.tags(ctx, sn.ARN)
	if err != nil {
		return err
	}
	if !export.OwnsSnapshot(name, tags, e.ExportID) {
		p.refused = append(p.refused, "snapshot "+name+": not tagged as cacheport's for "+e.ExportID)
		return nil
	}
	switch sn.Status {
	case "deleting":
		return nil // on its way out already
	case "creating", "copying", "exporting", "restoring":
		p.pending = append(p.pending, "snapshot "+name+" is "+sn.Status)
		return nil
	}
	if !c.opts.DryRun {
		if e.Cache.Kind == export.KindServerless {
			_, err = c.ec.DeleteServerlessCacheSnapshot(ctx, &elasticache.DeleteServerlessCacheSnapshotInput{ServerlessCacheSnapshotName: aws.String(name)})
		} else {
			_, err = c.ec.DeleteSnapshot(ctx, &elasticache.DeleteSnapshotInput{SnapshotName: aws.String(name)})
		}
		switch cl := awserr.Classify(err); {
		case err == nil:
		case cl == awserr.NotFound:
			return nil
		case cl == awserr.InvalidState:
			p.pending = append(p.pending, "snapshot "+name+" cannot be deleted yet ("+awserr.Code(err)+")")
			return nil
		default:
			return fmt.Errorf("delete snapshot %s: %w", name, err)
		}
	}
	p.snapshots++
	p.deleted = append(p.deleted, "snapshot "+name)
	p.removals = append(p.removals, export.Removal{What: removedSnapshot, Name: name, At: c.m.Now()})
	return nil
}

func (c *Cleaner) tags(ctx context.Context, arn string) (map[string]string, error) {
	out, err := c.ec.ListTagsForResource(ctx, &elasticache.ListTagsForResourceInput{ResourceName: aws.String(arn)})
	if err != nil {
		return nil, fmt.Errorf("list tags of %s: %w", arn, err)
	}
	tags := make(map[string]string, len(out.TagList))
	for _, t := range out.TagList {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return tags, nil
}

// noteRemoved records removals on e's record (those it does not list yet), reloading and trying
// again when another writer got there first. A record that is gone (expired) needs no note.
func (c *Cleaner) noteRemoved(ctx context.Context, e *export.Export, removals []export.Removal) error {
	if c.opts.DryRun {
		return nil
	}
	for try := 0; ; try++ {
		var todo []export.Removal
		for _, r := range removals {
			if !slices.ContainsFunc(e.Removed, func(x export.Removal) bool { return x.What == r.What && x.Name == r.Name }) {
				todo = append(todo, r)
			}
		}
		err := c.m.NoteRemoved(ctx, e, todo)
		if err == nil || !errors.Is(err, export.ErrConflict) || try == 4 {
			return err
		}
		fresh, lerr := c.m.Load(ctx, e.Key)
		if errors.Is(lerr, export.ErrNotFound) {
			return nil
		}
		if lerr != nil {
			return lerr
		}
		*e = *fresh
	}
}

// removedAlready reports whether e's record says the snapshot name was removed.
func removedAlready(e *export.Export, name string) bool {
	return slices.ContainsFunc(e.Removed, func(r export.Removal) bool { return r.What == removedSnapshot && r.Name == name })
}

// parseStem returns the (export id, attempt) pairs a name or key starting with cacheport- can be
// read as: cacheport-EXPORT_ID-aN followed by nothing (exact) or by a non-digit. Export ids may
// themselves contain "-aN", so there may be several readings; the caller tries each.
func parseStem(key string, exact bool) []stemRef {
	rest, ok := strings.CutPrefix(key, export.SnapshotStem)
	if !ok {
		return nil
	}
	var refs []stemRef
	for i := 0; i+2 < len(rest); i++ {
		if rest[i] != '-' || rest[i+1] != 'a' {
			continue
		}
		j := i + 2
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		if j == i+2 || (exact && j != len(rest)) {
			continue
		}
		id, digits := rest[:i], rest[i+2:j]
		n, err := strconv.Atoi(digits)
		if err != nil || n <= 0 || strconv.Itoa(n) != digits || export.ValidateExportID(id) != nil {
			continue
		}
		refs = append(refs, stemRef{id, n})
	}
	return refs
}

type stemRef struct {
	id      string
	attempt int
}

// cacheOfScheduledID returns CACHE of a scheduled export id CACHE-YYYYMMDD-HHMM.
func cacheOfScheduledID(id string) (string, bool) {
	n := len(export.WindowLayout)
	if len(id) < n+2 || id[len(id)-n-1] != '-' {
		return "", false
	}
	if _, err := export.ParseWindow(id[len(id)-n:]); err != nil {
		return "", false
	}
	return id[:len(id)-n-1], true
}

// findExport finds the record of export id: through the cache a scheduled id names, or the
// hint, else by listing every record. ok is false when there is none, or more than one (an
// ambiguous name deletes nothing).
func (c *Cleaner) findExport(ctx context.Context, id, cacheHint string) (*export.Export, bool, error) {
	var caches []string
	if cache, ok := cacheOfScheduledID(id); ok {
		caches = append(caches, cache)
	}
	if cacheHint != "" {
		caches = append(caches, cacheHint)
	}
	for _, cache := range caches {
		l, err := export.NewLayout(c.opts.Prefix, cache, id)
		if err != nil {
			continue
		}
		e, err := c.m.Load(ctx, l.RecordKey())
		if errors.Is(err, export.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, false, err
		}
		return e, true, nil
	}
	refs, err := c.m.Store().List(ctx, c.opts.Prefix+"/")
	if err != nil {
		return nil, false, err
	}
	var keys []string
	for _, r := range refs {
		if l, rest, ok := export.ParseRecordKey(c.opts.Prefix, r.Key); ok && rest == export.RecordName && l.ExportID == id {
			keys = append(keys, r.Key)
		}
	}
	if len(keys) != 1 {
		return nil, false, nil
	}
	e, err := c.m.Load(ctx, keys[0])
	if errors.Is(err, export.ErrNotFound) {
		return nil, false, nil
	}
	return e, err == nil, err
}
