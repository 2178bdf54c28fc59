// Package tiles holds gridd's vector-tile layers, tile addressing, the tile
// cache and its invalidation, and the TileJSON and style documents. It is
// pure: the tile SQL lives with the PostGIS adapter behind a small interface.
package tiles
