// Package photo checks the photos attached to cases and reads what their
// EXIF says: the media type the bytes really are (by their magic bytes),
// their size in pixels, that they decode whole, and where and when they
// were taken.
//
// Positions: EXIF GPS tags are read as WGS-84, which is what a camera's
// GNSS receiver writes. Photos made inside some Chinese apps may carry
// GCJ-02 positions instead (a few hundred metres off in Beijing); EXIF
// does not say which, so the distance to the case is then off by as much.
package photo

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"mime"
	"strings"

	"golang.org/x/image/webp"

	"gridd/grids"
)

// The media types taken.
const (
	JPEG = "image/jpeg"
	PNG  = "image/png"
	WebP = "image/webp"
)

// Types lists the media types taken, for messages.
const Types = "image/jpeg, image/png or image/webp"

// ErrUnsupported: the declared media type is not one taken (415).
var ErrUnsupported = errors.New("unsupported media type")

// MediaType reads a Content-Type header into one of the types taken
// (image/jpg, which some clients send, is image/jpeg), or ErrUnsupported.
func MediaType(contentType string) (string, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", fmt.Errorf("%w: Content-Type %q cannot be read; send %s", ErrUnsupported, clip(contentType), Types)
	}
	switch mt {
	case JPEG, "image/jpg", "image/pjpeg":
		return JPEG, nil
	case PNG, WebP:
		return mt, nil
	}
	return "", fmt.Errorf("%w: %s is not taken; send %s", ErrUnsupported, mt, Types)
}

// Sniff names what the bytes are by their magic bytes: one of the types
// taken, a description of another known format, or "".
func Sniff(b []byte) (mediaType, other string) {
	switch {
	case bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}):
		return JPEG, ""
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return PNG, ""
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return WebP, ""
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return "", "a GIF image"
	case len(b) >= 12 && string(b[4:8]) == "ftyp":
		switch string(b[8:12]) {
		case "heic", "heix", "mif1", "msf1", "hevc", "heim", "heis":
			return "", "a HEIC/HEIF image (iPhone: Settings > Camera > Formats > Most Compatible takes JPEG)"
		case "avif", "avis":
			return "", "an AVIF image"
		}
		return "", "an ISO media file (MP4, MOV...)"
	case bytes.HasPrefix(b, []byte("BM")):
		return "", "a BMP image"
	case bytes.HasPrefix(b, []byte("II*\x00")), bytes.HasPrefix(b, []byte("MM\x00*")):
		return "", "a TIFF image"
	case bytes.HasPrefix(b, []byte("%PDF")):
		return "", "a PDF document"
	}
	return "", ""
}

// Inspect checks that data is a whole image of the declared media type
// (one of the types taken), within the limits of grids, and reads its size
// and EXIF. Each refusal is a grids.InvalidError saying what is wrong.
func Inspect(data []byte, declared string) (grids.NewPhoto, error) {
	p := grids.NewPhoto{Bytes: data, MediaType: declared}
	if len(data) == 0 {
		return p, grids.Invalid("photo", "the body is empty: send the image's bytes")
	}
	if len(data) > grids.MaxPhotoBytes {
		return p, grids.Invalid("photo", "%d bytes: a photo is at most %d bytes (8 MiB)", len(data), grids.MaxPhotoBytes)
	}
	got, other := Sniff(data)
	switch {
	case got == "" && other != "":
		return p, grids.Invalid("photo", "the bytes are %s, declared as %s; send %s", other, declared, Types)
	case got == "":
		return p, grids.Invalid("photo", "the bytes are not an image (they start %s); send %s", hexStart(data), Types)
	case got != declared:
		return p, grids.Invalid("photo", "the bytes are %s but Content-Type says %s: send the type they are", got, declared)
	}
	var decodeConfig func(io.Reader) (image.Config, error)
	var decode func(io.Reader) (image.Image, error)
	switch got {
	case JPEG:
		decodeConfig, decode = jpeg.DecodeConfig, jpeg.Decode
	case PNG:
		decodeConfig, decode = png.DecodeConfig, png.Decode
	case WebP:
		decodeConfig, decode = webp.DecodeConfig, webp.Decode
	}
	cfg, err := decodeConfig(bytes.NewReader(data))
	if err != nil {
		return p, grids.Invalid("photo", "not a readable %s: %v", got, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return p, grids.Invalid("photo", "%s of %d × %d pixels", got, cfg.Width, cfg.Height)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > grids.MaxPhotoPixels {
		return p, grids.Invalid("photo", "%d × %d pixels (%.1f megapixels): a photo is at most %d megapixels",
			cfg.Width, cfg.Height, float64(px)/1e6, grids.MaxPhotoPixels/1_000_000)
	}
	// Decoded whole, so that a truncated or corrupt upload is refused now
	// and not found out when someone opens it.
	if _, err := decode(bytes.NewReader(data)); err != nil {
		return p, grids.Invalid("photo", "the %s does not decode (truncated or corrupt?): %v", got, err)
	}
	p.Width, p.Height = cfg.Width, cfg.Height
	var tiff []byte
	switch got {
	case JPEG:
		tiff = jpegEXIF(data)
	case PNG:
		tiff = pngEXIF(data)
	case WebP:
		tiff = webpEXIF(data)
	}
	if tiff != nil {
		x := ReadEXIF(tiff)
		if x.HasPosition {
			lon, lat := x.Lon, x.Lat
			p.Lon, p.Lat = &lon, &lat
		}
		if !x.Taken.IsZero() {
			t := x.Taken
			p.Taken = &t
		}
	}
	return p, nil
}

func hexStart(b []byte) string {
	if len(b) > 8 {
		b = b[:8]
	}
	return fmt.Sprintf("% x", b)
}

func clip(s string) string {
	if len(s) > 100 {
		return s[:100] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}
