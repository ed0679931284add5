package environment

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/orocloud/orocloud-go/providers"
)

// Format is a spec file format.
type Format string

// Spec formats. Both use the JSON field names of Environment ("web",
// "sentinelQuorum", "technicalContact", ...).
const (
	YAML Format = "yaml"
	JSON Format = "json"
)

// MaxSpecSize bounds the size of a spec document Load, LoadFile and Decode
// accept.
const MaxSpecSize = 1 << 20

// DecodeError locates a problem in a spec document. Load, LoadFile and
// Decode return it inside a *providers.Error with code InvalidArgument;
// get it with errors.As.
type DecodeError struct {
	// Format is the document's format.
	Format Format
	// Line and Column are 1-based; 0 when unknown.
	Line, Column int
	// Field is the path of the offending field ("web.nodez",
	// "smtp.relays[1].priority"), when known.
	Field string
	// Msg says what is wrong.
	Msg string
	// Err is the decoder's raw error, if any.
	Err error
}

// Error renders "yaml: line 4, column 3: field web.nodez: unknown field".
func (e *DecodeError) Error() string {
	if e == nil {
		return "<nil>"
	}
	var b strings.Builder
	b.WriteString(string(e.Format))
	b.WriteString(":")
	if e.Line > 0 {
		fmt.Fprintf(&b, " line %d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ", column %d", e.Column)
		}
		b.WriteString(":")
	}
	if e.Field != "" {
		fmt.Fprintf(&b, " field %s:", e.Field)
	}
	b.WriteString(" ")
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns the decoder's raw error.
func (e *DecodeError) Unwrap() error {
	if e == nil {
		return nil
	}
	return e.Err
}

func decodeErr(de *DecodeError) error {
	return providers.Errorf(providers.InvalidArgument, "environment.Load: %w", de)
}

// Load decodes an environment from a YAML or JSON document. Unknown fields,
// duplicate keys, a malformed value, an empty document and trailing data
// are refused with an error of code InvalidArgument wrapping a *DecodeError
// that names the line, the column and the field. Load does not validate the
// environment (call Validate) and fills in no default: what the document
// says is what you get.
func Load(data []byte, format Format) (*Environment, error) {
	if len(data) > MaxSpecSize {
		return nil, decodeErr(&DecodeError{Format: format, Msg: fmt.Sprintf("document larger than %d bytes", MaxSpecSize)})
	}
	switch format {
	case YAML:
		return loadYAML(data)
	case JSON:
		return loadJSON(data)
	}
	return nil, providers.Errorf(providers.InvalidArgument, "environment.Load: unknown format %q: use yaml or json", format)
}

// Decode reads a whole document from r (at most MaxSpecSize bytes) and
// decodes it as Load does.
func Decode(r io.Reader, format Format) (*Environment, error) {
	if r == nil {
		return nil, providers.Errorf(providers.InvalidArgument, "environment.Decode: nil reader")
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxSpecSize+1))
	if err != nil {
		return nil, providers.Wrap(err, providers.Unavailable, "environment.Decode", "")
	}
	return Load(data, format)
}

// LoadFile reads and decodes a spec file; the format comes from the
// extension: .yaml or .yml for YAML, .json for JSON. A missing file returns
// an error of code NotFound; an unreadable one PermissionDenied.
func LoadFile(path string) (*Environment, error) {
	var format Format
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		format = YAML
	case ".json":
		format = JSON
	default:
		return nil, providers.Errorf(providers.InvalidArgument, "environment.LoadFile %s: unknown extension %q: use .yaml, .yml or .json", path, filepath.Ext(path))
	}
	f, err := os.Open(path)
	if err != nil {
		code := providers.Unknown
		switch {
		case errors.Is(err, fs.ErrNotExist):
			code = providers.NotFound
		case errors.Is(err, fs.ErrPermission):
			code = providers.PermissionDenied
		}
		return nil, providers.Wrap(err, code, "environment.LoadFile", path)
	}
	defer f.Close()
	env, err := Decode(f, format)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return env, nil
}

// MarshalJSON encodes the environment with its JSON field names. A nil
// receiver returns an error.
func (e *Environment) MarshalJSON() ([]byte, error) {
	if e == nil {
		return nil, providers.Errorf(providers.InvalidArgument, "environment: marshal a nil environment")
	}
	type plain Environment
	return json.Marshal((*plain)(e))
}

// MarshalYAML encodes the environment as YAML with the same field names as
// JSON; Load(YAML) reads it back. A nil receiver returns an error.
func (e *Environment) MarshalYAML() ([]byte, error) {
	if e == nil {
		return nil, providers.Errorf(providers.InvalidArgument, "environment: marshal a nil environment")
	}
	type plain Environment
	return yaml.Marshal((*plain)(e))
}

func isBlank(data []byte) bool { return len(bytes.TrimSpace(data)) == 0 }

func loadYAML(data []byte) (env *Environment, err error) {
	// go-yaml v1.19 panics on some malformed documents (a tag on a
	// scalar where a sequence is expected, found by FuzzLoadValidate):
	// turn a panic of the decoder into an InvalidArgument error.
	defer func() {
		if r := recover(); r != nil {
			env, err = nil, decodeErr(&DecodeError{Format: YAML, Msg: fmt.Sprintf("malformed document: the YAML decoder failed: %v", r)})
		}
	}()
	return decodeYAML(data)
}

func decodeYAML(data []byte) (*Environment, error) {
	if isBlank(data) {
		return nil, decodeErr(&DecodeError{Format: YAML, Msg: "empty document"})
	}
	var env Environment
	dec := yaml.NewDecoder(bytes.NewReader(data), yaml.DisallowUnknownField())
	if err := dec.Decode(&env); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, decodeErr(&DecodeError{Format: YAML, Msg: "empty document"})
		}
		return nil, decodeErr(yamlError(data, err))
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		de := &DecodeError{Format: YAML, Msg: "more than one document: a spec holds one environment", Err: err}
		var ye yaml.Error
		if errors.As(err, &ye) && ye.GetToken() != nil && ye.GetToken().Position != nil {
			de.Line, de.Column = ye.GetToken().Position.Line, ye.GetToken().Position.Column
		} else if docs := parseYAMLDocs(data); len(docs) > 1 {
			tk := docs[1].Start
			if tk == nil {
				tk = docs[1].GetToken()
			}
			if tk != nil && tk.Position != nil {
				de.Line, de.Column = tk.Position.Line, tk.Position.Column
			}
		}
		return nil, decodeErr(de)
	}
	return &env, nil
}

// yamlError turns a go-yaml error into a DecodeError with its line, column
// and field path.
func yamlError(data []byte, err error) *DecodeError {
	de := &DecodeError{Format: YAML, Msg: err.Error(), Err: err}
	var ye yaml.Error
	if errors.As(err, &ye) {
		de.Msg = ye.GetMessage()
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			de.Line, de.Column = tk.Position.Line, tk.Position.Column
			de.Field = yamlPathAt(data, tk.Position.Offset)
		}
		return de
	}
	// Errors from a field's own decoder (a malformed duration) carry no
	// position: find the first duration field that does not parse.
	if line, col, field, ok := badYAMLDuration(data); ok {
		de.Line, de.Column, de.Field = line, col, field
	}
	return de
}

// yamlVisitor calls f for every node.
type yamlVisitor func(ast.Node)

func (v yamlVisitor) Visit(n ast.Node) ast.Visitor { v(n); return v }

func parseYAMLDocs(data []byte) []*ast.DocumentNode {
	f, err := parser.ParseBytes(data, 0)
	if err != nil || f == nil {
		return nil
	}
	return f.Docs
}

// yamlPathAt returns the path ("web.nodes") of the node whose token starts
// at offset.
func yamlPathAt(data []byte, offset int) string {
	path := ""
	for _, d := range parseYAMLDocs(data) {
		ast.Walk(yamlVisitor(func(n ast.Node) {
			if n == nil || path != "" {
				return
			}
			if tk := n.GetToken(); tk != nil && tk.Position != nil && tk.Position.Offset == offset {
				path = cleanYAMLPath(n.GetPath())
			}
		}), d)
	}
	return path
}

func cleanYAMLPath(p string) string {
	p = strings.TrimPrefix(p, "$")
	return strings.TrimPrefix(p, ".")
}

// durationPaths are the Duration fields of a spec.
var durationPaths = []string{"maintenance.duration", "cdn.google.defaultTTL", "cdn.google.maxTTL", "cdn.google.clientTTL"}

func badYAMLDuration(data []byte) (line, col int, field string, ok bool) {
	for _, d := range parseYAMLDocs(data) {
		ast.Walk(yamlVisitor(func(n ast.Node) {
			mv, isMV := n.(*ast.MappingValueNode)
			if ok || !isMV || mv.Value == nil {
				return
			}
			p := cleanYAMLPath(mv.Value.GetPath())
			for _, dp := range durationPaths {
				if p != dp {
					continue
				}
				var dur Duration
				if err := dur.UnmarshalYAML([]byte(mv.Value.String())); err != nil {
					if tk := mv.Value.GetToken(); tk != nil && tk.Position != nil {
						line, col = tk.Position.Line, tk.Position.Column
					}
					field, ok = p, true
				}
			}
		}), d)
	}
	return
}

func loadJSON(data []byte) (*Environment, error) {
	if isBlank(data) {
		return nil, decodeErr(&DecodeError{Format: JSON, Msg: "empty document"})
	}
	var env Environment
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil {
		return nil, decodeErr(jsonError(data, err))
	}
	if tok, err := dec.Token(); !errors.Is(err, io.EOF) {
		de := &DecodeError{Format: JSON, Msg: fmt.Sprintf("unexpected data after the environment object: %v", tok), Err: err}
		de.Line, de.Column = lineCol(data, dec.InputOffset())
		return nil, decodeErr(de)
	}
	return &env, nil
}

func jsonError(data []byte, err error) *DecodeError {
	de := &DecodeError{Format: JSON, Msg: strings.TrimPrefix(err.Error(), "json: "), Err: err}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		de.Line, de.Column = lineCol(data, se.Offset)
	case errors.As(err, &te):
		de.Msg = fmt.Sprintf("cannot use a JSON %s as %s", te.Value, te.Type)
		de.Field = te.Field
		// Offset is just past the bad value: find the innermost value
		// that ends there, for its path with list indices and its start.
		if path, start, ok := jsonPathAt(data, 0, "", te.Offset); ok && path != "" {
			de.Field = path
			de.Line, de.Column = lineCol(data, start)
		} else {
			de.Line, de.Column = lineCol(data, max(te.Offset-1, 0))
		}
	case errors.Is(err, io.ErrUnexpectedEOF):
		de.Msg = "unexpected end of the document"
		de.Line, de.Column = lineCol(data, int64(len(data)))
	}
	if de.Line == 0 {
		if loc := locateJSON(data, 0, reflect.TypeFor[Environment](), ""); loc != nil {
			de.Line, de.Column = lineCol(data, loc.offset)
			de.Field = loc.path
			if loc.msg != "" {
				de.Msg = loc.msg
			}
		}
	}
	return de
}

// lineCol converts a byte offset into a 1-based line and column.
func lineCol(data []byte, off int64) (line, col int) {
	if off < 0 {
		off = 0
	}
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	before := data[:off]
	line = bytes.Count(before, []byte{'\n'}) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

type jsonLoc struct {
	offset int64
	path   string
	msg    string
}

var durationType = reflect.TypeFor[Duration]()

// locateJSON walks raw (found at offset base of the document) along type t
// and returns the first unknown field or malformed duration, with its path
// and offset. Type mismatches are left to encoding/json, which reports them
// with an offset.
func locateJSON(raw []byte, base int64, t reflect.Type, path string) *jsonLoc {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == durationType {
		var d Duration
		if err := d.UnmarshalJSON(raw); err != nil {
			return &jsonLoc{offset: base + leadingSpace(raw), path: path, msg: err.Error()}
		}
		return nil
	}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		if trimmed[0] != '{' {
			return nil
		}
		return walkJSONObject(raw, base, path, func(key string) (reflect.Type, string, bool) {
			f, ok := jsonField(t, key)
			if !ok {
				return nil, "", false
			}
			return f.Type, f.name, true
		})
	case reflect.Map:
		if trimmed[0] != '{' {
			return nil
		}
		return walkJSONObject(raw, base, path, func(key string) (reflect.Type, string, bool) { return t.Elem(), key, true })
	case reflect.Slice, reflect.Array:
		if trimmed[0] != '[' {
			return nil
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		if _, err := dec.Token(); err != nil {
			return nil
		}
		for i := 0; dec.More(); i++ {
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return nil
			}
			start := dec.InputOffset() - int64(len(v))
			if loc := locateJSON(v, base+start, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); loc != nil {
				return loc
			}
		}
	}
	return nil
}

func leadingSpace(raw []byte) int64 { return int64(len(raw) - len(bytes.TrimLeft(raw, " \t\r\n"))) }

func walkJSONObject(raw []byte, base int64, path string, field func(string) (reflect.Type, string, bool)) *jsonLoc {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		key, _ := tok.(string)
		keyEnd := dec.InputOffset()
		ft, name, ok := field(key)
		sub := name
		if path != "" {
			sub = path + "." + name
		}
		if !ok {
			sub = key
			if path != "" {
				sub = path + "." + key
			}
			// keyEnd is just past the key's closing quote.
			start := max(keyEnd-int64(len(key))-2, 0)
			return &jsonLoc{offset: base + start, path: sub, msg: fmt.Sprintf("unknown field %q", key)}
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil
		}
		start := dec.InputOffset() - int64(len(v))
		if loc := locateJSON(v, base+start, ft, sub); loc != nil {
			return loc
		}
	}
	return nil
}

type namedField struct {
	reflect.Type
	name string
}

// jsonField finds the field of struct t that encoding/json decodes key
// into: an exact match of the JSON name first, then a case-insensitive one.
func jsonField(t reflect.Type, key string) (namedField, bool) {
	var fold *namedField
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if name == key {
			return namedField{f.Type, name}, true
		}
		if fold == nil && strings.EqualFold(name, key) {
			fold = &namedField{f.Type, name}
		}
	}
	if fold != nil {
		return *fold, true
	}
	return namedField{}, false
}

// jsonPathAt returns the path and start offset of the innermost value of
// raw (found at offset base of the document) that ends at offset end.
func jsonPathAt(raw []byte, base int64, path string, end int64) (string, int64, bool) {
	lead := leadingSpace(raw)
	trimmed := bytes.TrimSpace(raw)
	start := base + lead
	if end <= start || end > start+int64(len(trimmed)) {
		return "", 0, false
	}
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		dec := json.NewDecoder(bytes.NewReader(raw))
		if _, err := dec.Token(); err != nil {
			return path, start, true
		}
		object := trimmed[0] == '{'
		for i := 0; dec.More(); i++ {
			sub := fmt.Sprintf("%s[%d]", path, i)
			if object {
				tok, err := dec.Token()
				if err != nil {
					break
				}
				key, _ := tok.(string)
				sub = key
				if path != "" {
					sub = path + "." + key
				}
			}
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				break
			}
			vstart := dec.InputOffset() - int64(len(v))
			if p, st, ok := jsonPathAt(v, base+vstart, sub, end); ok {
				return p, st, true
			}
		}
	}
	if start+int64(len(trimmed)) == end {
		return path, start, true
	}
	return "", 0, false
}
