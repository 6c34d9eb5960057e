package awsconf

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestS3PathStyleOnlyForCustomEndpoints(t *testing.T) {
	for _, c := range []struct {
		s    Settings
		want bool
	}{
		{Settings{Getenv: func(string) string { return "" }}, false},
		{Settings{Endpoint: "http://127.0.0.1:4566", Getenv: func(string) string { return "" }}, true},
		{Settings{Getenv: func(k string) string {
			if k == "AWS_ENDPOINT_URL_S3" {
				return "http://127.0.0.1:7070"
			}
			return ""
		}}, true},
	} {
		var o s3.Options
		S3Options(c.s)(&o)
		if o.UsePathStyle != c.want {
			t.Errorf("%+v: UsePathStyle %v, want %v", c.s.Endpoint, o.UsePathStyle, c.want)
		}
	}
}

func TestLoadAppliesRegionAndEndpoint(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	c, err := Load(context.Background(), Settings{Region: "eu-west-3", Endpoint: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Config.Region != "eu-west-3" || aws.ToString(c.Config.BaseEndpoint) != "http://127.0.0.1:1" || !c.S3.Options().UsePathStyle {
		t.Fatalf("config %+v", c.Config)
	}
}
