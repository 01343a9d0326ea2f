package main

import "encoding/base64"

var b64 = base64.RawURLEncoding
