package workload

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Function is one function's configuration as `replay --config functions.json`
// carries it: a JSON array of these objects.
//
//	[{"account":"123456789012","region":"us-east-1","function":"orders-api",
//	  "runtime":"nodejs20.x","architecture":"arm64","timeoutSeconds":6,
//	  "memorySizeMB":512,"logGroup":"/aws/lambda/orders-api","logFormat":"Text"}]
//
// logGroup is where the function logs (LoggingConfig.LogGroup, default
// /aws/lambda/<function>); logFormat is "Text" or "JSON" and optional.
type Function struct {
	Account        string `json:"account"`
	Region         string `json:"region"`
	Name           string `json:"function"`
	Runtime        string `json:"runtime"`
	Architecture   string `json:"architecture"`
	TimeoutSeconds int    `json:"timeoutSeconds"`
	MemorySizeMB   int32  `json:"memorySizeMB"`
	LogGroup       string `json:"logGroup"`
	LogFormat      string `json:"logFormat,omitempty"`
}

// LogValue keeps the account id out of logs but for its last four digits.
func (f Function) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("account", maskAccount(f.Account)),
		slog.String("region", f.Region),
		slog.String("function", f.Name),
		slog.String("runtime", f.Runtime),
	)
}

func maskAccount(a string) string {
	if len(a) <= 4 {
		return "****"
	}
	return strings.Repeat("*", len(a)-4) + a[len(a)-4:]
}

// Limits of a function's configuration, as Lambda enforces them.
const (
	maxFunctionsFileBytes = 16 << 20
	maxFunctionName       = 64
	maxLogGroup           = 512
)

// Validate checks one function's configuration.
func (f Function) Validate() error {
	switch {
	case !validAccount(f.Account):
		return fmt.Errorf("%w function %q: account %q is not 12 digits", ErrInvalid, f.Name, f.Account)
	case !validRegion(f.Region):
		return fmt.Errorf("%w function %q: region %q", ErrInvalid, f.Name, f.Region)
	case !validFunctionName(f.Name):
		return fmt.Errorf("%w function %q: name must be 1-64 of [A-Za-z0-9-_]", ErrInvalid, f.Name)
	case f.Runtime == "" || len(f.Runtime) > 32:
		return fmt.Errorf("%w function %q: runtime %q", ErrInvalid, f.Name, f.Runtime)
	case f.Architecture != "x86_64" && f.Architecture != "arm64":
		return fmt.Errorf("%w function %q: architecture %q is not x86_64 or arm64", ErrInvalid, f.Name, f.Architecture)
	case f.TimeoutSeconds < 1 || f.TimeoutSeconds > 900:
		return fmt.Errorf("%w function %q: timeoutSeconds %d not in [1, 900]", ErrInvalid, f.Name, f.TimeoutSeconds)
	case f.MemorySizeMB < 128 || f.MemorySizeMB > 10240:
		return fmt.Errorf("%w function %q: memorySizeMB %d not in [128, 10240]", ErrInvalid, f.Name, f.MemorySizeMB)
	case f.LogGroup == "" || len(f.LogGroup) > maxLogGroup || strings.ContainsAny(f.LogGroup, "\x00\n"):
		return fmt.Errorf("%w function %q: logGroup %q", ErrInvalid, f.Name, f.LogGroup)
	case f.LogFormat != "" && f.LogFormat != "Text" && f.LogFormat != "JSON":
		return fmt.Errorf("%w function %q: logFormat %q is not Text or JSON", ErrInvalid, f.Name, f.LogFormat)
	}
	return nil
}

func validFunctionName(n string) bool {
	if n == "" || len(n) > maxFunctionName {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// ReadFunctions decodes and validates a functions file (untrusted input). Unknown
// fields are rejected; so is a function listed twice (same account, region, name)
// and a log group claimed by two functions of one account and region.
func ReadFunctions(r io.Reader) ([]Function, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFunctionsFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read functions: %w", err)
	}
	if len(data) > maxFunctionsFileBytes {
		return nil, fmt.Errorf("%w functions file: larger than %d bytes", ErrInvalid, maxFunctionsFileBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var fns []Function
	if err := dec.Decode(&fns); err != nil {
		return nil, fmt.Errorf("%w functions file: %v", ErrInvalid, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w functions file: data after the array", ErrInvalid)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w functions file: data after the array", ErrInvalid)
	}
	names := make(map[string]bool, len(fns))
	groups := make(map[string]string, len(fns))
	for i, f := range fns {
		if err := f.Validate(); err != nil {
			return nil, fmt.Errorf("functions file entry %d: %w", i, err)
		}
		key := f.Account + "/" + f.Region + "/" + f.Name
		if names[key] {
			return nil, fmt.Errorf("%w functions file entry %d: function %q listed twice", ErrInvalid, i, f.Name)
		}
		names[key] = true
		gk := f.Account + "/" + f.Region + "/" + f.LogGroup
		if other, ok := groups[gk]; ok {
			return nil, fmt.Errorf("%w functions file entry %d: log group %q of %q already belongs to %q", ErrInvalid, i, f.LogGroup, f.Name, other)
		}
		groups[gk] = f.Name
	}
	return fns, nil
}

// WriteFunctions writes the functions file of fns (indented JSON array).
func WriteFunctions(w io.Writer, fns []Function) error {
	if fns == nil {
		fns = []Function{}
	}
	b, err := json.MarshalIndent(fns, "", "  ")
	if err != nil {
		return fmt.Errorf("encode functions: %w", err)
	}
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("write functions: %w", err)
	}
	return nil
}
