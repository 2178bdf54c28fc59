-- Photos of cases (grids/case_photos.go): a reporter's photos of the
-- problem, a department's of the work done, a supervisor's of the check.
-- A photo is stored once, keyed by the SHA-256 of its bytes (the database
-- checks the key is that hash), however many cases it is attached to;
-- case_photos records each attachment: who, when, and the case event the
-- case stood at then (the report, the dispatch, the handling...).

CREATE TABLE photos (
    sha256     bytea PRIMARY KEY CHECK (sha256 = sha256(bytes)),
    media_type text NOT NULL CHECK (media_type IN ('image/jpeg', 'image/png', 'image/webp')),
    bytes      bytea NOT NULL,
    size       integer NOT NULL CHECK (size = length(bytes) AND size BETWEEN 1 AND 8388608),
    width      integer NOT NULL CHECK (width > 0),
    height     integer NOT NULL CHECK (height > 0),
    -- What the photo's EXIF says, read as WGS-84 (camera GNSS; photos made
    -- by some Chinese apps carry GCJ-02 instead, and EXIF does not say).
    exif_lon   double precision CHECK (exif_lon BETWEEN -180 AND 180),
    exif_lat   double precision CHECK (exif_lat BETWEEN -90 AND 90),
    exif_time  timestamptz,
    created    timestamptz NOT NULL DEFAULT now(),
    CHECK ((exif_lon IS NULL) = (exif_lat IS NULL))
);
-- JPEG, PNG and WebP are compressed already: keep them out of line, as
-- they are.
ALTER TABLE photos ALTER COLUMN bytes SET STORAGE EXTERNAL;

CREATE TABLE case_photos (
    id       bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    case_id  bigint NOT NULL REFERENCES cases (id),
    sha256   bytea NOT NULL REFERENCES photos (sha256),
    -- The case's latest event when the photo came, and its state then.
    event_id bigint REFERENCES case_events (id),
    state    text NOT NULL,
    added    timestamptz NOT NULL DEFAULT now(),
    actor    text NOT NULL,
    role     text NOT NULL,
    PRIMARY KEY (case_id, sha256)
);
CREATE INDEX case_photos_event ON case_photos (event_id);
CREATE INDEX case_photos_sha256 ON case_photos (sha256);
