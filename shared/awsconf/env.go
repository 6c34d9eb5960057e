package awsconf

import "os"

var osGetenv = os.Getenv
