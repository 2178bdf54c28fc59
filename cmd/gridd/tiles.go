package main

import (
	"context"
	"flag"
	"os"

	"gridd/api"
	"gridd/grids"
	"gridd/tiles"
)

// tileOptions are serve's tile settings.
type tileOptions struct {
	cacheMB     int
	maxTileKB   int
	publicURL   string
	basemap     string
	attribution string
	cjkFont     string
}

// cjkFonts are where Debian's fonts-noto-cjk puts its Chinese fonts; the first
// that exists gives the glyph endpoint its Chinese glyphs.
var cjkFonts = []string{
	"/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
	"/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
	"/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
}

func tileFlags(fs *flag.FlagSet) *tileOptions {
	o := &tileOptions{}
	fs.IntVar(&o.cacheMB, "tile-cache-mb", 256, "memory for the tile cache, in MiB")
	fs.IntVar(&o.maxTileKB, "max-tile-kb", tiles.DefaultMaxTileBytes>>10, "size cap of one tile, in KiB")
	fs.StringVar(&o.publicURL, "public-url", os.Getenv("GRIDD_PUBLIC_URL"), "scheme and host clients reach gridd at, for TileJSON and the style (env GRIDD_PUBLIC_URL; default: from each request)")
	fs.StringVar(&o.basemap, "basemap", os.Getenv("GRIDD_BASEMAP"), "optional raster basemap URL template {z}/{x}/{y} under the style (env GRIDD_BASEMAP)")
	fs.StringVar(&o.attribution, "basemap-attribution", "", "attribution shown with the basemap")
	fs.StringVar(&o.cjkFont, "cjk-font", "", "font file for Chinese label glyphs (default: Noto Sans CJK if installed)")
	return o
}

// withTiles adds the tile service, the glyphs and the code search to the
// server's configuration, and keeps the tile cache fresh from the shared
// change feed until ctx ends.
func withTiles(ctx context.Context, e *env, feed *changeFeed, o *tileOptions, cfg api.Config) api.Config {
	st := feed.Store
	cfg.Tiles, cfg.Glyphs = startTiles(ctx, e, feed, o)
	cfg.Places = st
	cfg.PublicURL, cfg.Basemap, cfg.BasemapAttribution = o.publicURL, o.basemap, o.attribution
	return cfg
}

func startTiles(ctx context.Context, e *env, feed *changeFeed, o *tileOptions) (*tiles.Service, *tiles.Glyphs) {
	svc := tiles.NewService(feed.Store, int64(o.cacheMB)<<20, o.maxTileKB<<10)
	go feed.Listen(ctx, 0, func(c grids.Change) { //nolint:errcheck // ends with ctx
		n := svc.Apply(c)
		e.log.Debug("tile_cache_invalidated", "table", c.Table, "op", c.Op, "version", c.Version, "all", c.All, "dropped", n)
	})
	var extra [][]byte
	paths := cjkFonts
	if o.cjkFont != "" {
		paths = []string{o.cjkFont}
	}
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			extra = append(extra, b)
			e.log.Info("glyph_font", "path", p)
			break
		}
	}
	glyphs, err := tiles.NewGlyphs(extra...)
	if err != nil {
		e.log.Warn("glyph_font_unusable", "error", err)
		glyphs, _ = tiles.NewGlyphs()
	}
	return svc, glyphs
}
