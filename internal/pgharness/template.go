package pgharness

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// initdb fills s.dataDir with a fresh cluster. initdb takes seconds on a busy
// machine, so the first run for a given binary, user and checksum setting
// keeps a pristine copy in <base>/pgharness-template-<key> (created under a
// temporary name and renamed into place, so concurrent test binaries never
// see half a template); later servers copy it, which is several times
// faster. The template is a plain initdb output: nothing runs in it.
func (s *Server) initdb(ctx context.Context, base string, checksums bool) error {
	if base == "" {
		base = os.TempDir()
	}
	tmpl, err := s.templateDir(base, checksums)
	if err == nil {
		if _, statErr := os.Stat(filepath.Join(tmpl, "PG_VERSION")); statErr == nil {
			if err := s.copyTree(tmpl, s.dataDir); err == nil {
				return nil
			}
			_ = os.RemoveAll(s.dataDir)
		}
	}
	args := []string{"-D", s.dataDir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"}
	if checksums {
		args = append(args, "--data-checksums")
	}
	if out, err := s.run(ctx, "initdb", args...); err != nil {
		return fmt.Errorf("pgharness: initdb: %w: %s", err, lastLines(out, 20))
	}
	if tmpl != "" {
		s.saveTemplate(tmpl)
	}
	return nil
}

// templateDir names the template for this binary (path, size, mtime), user
// and checksum setting.
func (s *Server) templateDir(base string, checksums bool) (string, error) {
	st, err := os.Stat(filepath.Join(s.binDir, "initdb"))
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s|%d|%d|%v|%d", s.binDir, st.Size(), st.ModTime().UnixNano(), checksums, os.Geteuid())
	return filepath.Join(base, "pgharness-template-"+hex.EncodeToString(h.Sum(nil))[:16]), nil
}

func (s *Server) saveTemplate(tmpl string) {
	tmp, err := os.MkdirTemp(filepath.Dir(tmpl), filepath.Base(tmpl)+".tmp-")
	if err != nil {
		return
	}
	if err := s.copyTree(s.dataDir, tmp); err != nil {
		_ = os.RemoveAll(tmp)
		return
	}
	if err := os.Rename(tmp, tmpl); err != nil { // another process won the race
		_ = os.RemoveAll(tmp)
	}
}

// copyTree copies a data directory (regular files and directories only),
// keeping permissions and giving everything to the server's user.
func (s *Server) copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if err := os.MkdirAll(target, info.Mode().Perm()); err != nil {
				return err
			}
			if err := os.Chmod(target, info.Mode().Perm()); err != nil {
				return err
			}
		case info.Mode().IsRegular():
			if err := copyFile(path, target, info.Mode().Perm()); err != nil {
				return err
			}
		default:
			return fmt.Errorf("pgharness: unexpected file %s in template", strconv.Quote(path))
		}
		return s.chown(target)
	})
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
