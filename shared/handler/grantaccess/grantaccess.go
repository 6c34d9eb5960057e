// Package grantaccess is the grant-bucket-access Lambda's handler: a CloudFormation custom
// resource (Custom::ElastiCacheBucketGrant in template.yaml) that gives ElastiCache its
// documented ACL grant on the export bucket through shared/grant.
//
// Create and Update add whatever of the three grants is missing and keep every other grant;
// Delete does nothing, because the bucket outlives the stack (DeletionPolicy: Retain) and its
// exports must stay restorable.
package grantaccess

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-lambda-go/cfn"

	"github.com/cacheport/cacheport/shared/grant"
)

// Resource properties the handler reads.
const (
	// PropBucketName names the bucket to grant (required).
	PropBucketName = "BucketName"
	// PropRegion is the bucket's region (optional: the function's own region by default).
	PropRegion = "Region"
)

// PhysicalIDPrefix starts every physical resource id: the id is this prefix and the bucket name,
// so it stays the same across updates of one bucket, and a new bucket gets a new resource.
const PhysicalIDPrefix = "cacheport-elasticache-grant:"

// PropertyError reports a missing or invalid resource property.
type PropertyError struct {
	Name  string
	Value any
	Want  string
}

func (e *PropertyError) Error() string {
	return fmt.Sprintf("property %s = %v is not valid: %s", e.Name, e.Value, e.Want)
}

// Handler serves the custom resource's requests. Build it with New; it holds no state between
// requests and is safe for concurrent use when its Granter is.
type Handler struct {
	granter *grant.Granter
	region  string
	log     *slog.Logger
}

// New returns a Handler that grants through g; region is the function's own region, used when
// the resource gives no Region property. A nil log discards logs.
func New(g *grant.Granter, region string, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{granter: g, region: region, log: log}
}

// Handle is a cfn.CustomResourceFunction (wrap it with cfn.LambdaWrap). It returns the physical
// resource id PhysicalIDPrefix+bucket and, on Create and Update, the data attributes
// CanonicalUserId and Added (the permissions it added, comma-separated, empty when none were
// missing). A Delete returns the id it was given and touches nothing. Errors are *PropertyError
// for bad properties, else the wrapped S3 or region error from shared/grant; LambdaWrap reports
// them to CloudFormation as the reason of a FAILED response.
func (h *Handler) Handle(ctx context.Context, ev cfn.Event) (physicalID string, data map[string]any, err error) {
	if ev.RequestType == cfn.RequestDelete {
		h.log.InfoContext(ctx, "delete: grants are left on the retained bucket", "physical_id", ev.PhysicalResourceID)
		return ev.PhysicalResourceID, nil, nil
	}
	bucket, err := str(ev.ResourceProperties, PropBucketName, true)
	if err != nil {
		return "", nil, err
	}
	region, err := str(ev.ResourceProperties, PropRegion, false)
	if err != nil {
		return "", nil, err
	}
	if region == "" {
		region = h.region
	}
	res, err := h.granter.Ensure(ctx, bucket, region)
	if err != nil {
		return "", nil, err
	}
	added := grant.Names(res.Missing)
	h.log.InfoContext(ctx, "elasticache bucket grant in place",
		"request", string(ev.RequestType), "bucket", bucket, "region", region, "added", added)
	return PhysicalIDPrefix + bucket, map[string]any{"CanonicalUserId": res.CanonicalUserID, "Added": added}, nil
}

// str reads a string property; CloudFormation passes every scalar property as a string.
func str(props map[string]any, name string, required bool) (string, error) {
	v, ok := props[name]
	if !ok || v == nil {
		if required {
			return "", &PropertyError{Name: name, Value: v, Want: "a non-empty string (required)"}
		}
		return "", nil
	}
	s, ok := v.(string)
	if !ok || (required && strings.TrimSpace(s) == "") {
		return "", &PropertyError{Name: name, Value: v, Want: "a non-empty string"}
	}
	return strings.TrimSpace(s), nil
}
