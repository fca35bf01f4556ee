//! A compact binary snapshot of a built `SchemaCache`, so that a worker (or a restarted server) gets the
//! cache without querying the catalog or inferring relationships again.
//!
//! Layout (integers little-endian):
//!
//! | bytes | field |
//! |---|---|
//! | 8 | magic `RESTPGSC` |
//! | 4 | format version (`FORMAT_VERSION`) |
//! | 1 + n | crate version (`CARGO_PKG_VERSION`), length-prefixed |
//! | 2 + n | catalog fingerprint (UTF-8), length-prefixed |
//! | 8 | payload length |
//! | 4 | CRC-32 of the payload |
//! | n | payload: the cache's tables, relationships and routines, postcard-encoded |
//!
//! The payload encoding follows the Rust types, which may change between releases without a format
//! bump, so a snapshot written by another crate version is refused as stale: the caller rebuilds it from
//! the database. Every way a file can be damaged (truncated, bit flips, trailing bytes) is an error, never a
//! panic: the checksum catches corruption before the decoder sees the payload, and the decoder is
//! bounds-checked anyway.

use super::fast_hash::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::{QualifiedIdentifier, Relationship, Routine, SchemaCache, Table};

const MAGIC: &[u8; 8] = b"RESTPGSC";
/// Bump when the header layout or the payload's top-level shape changes.
pub const FORMAT_VERSION: u32 = 1;
const CRATE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Why a snapshot cannot be used. The caller's remedy is always the same: rebuild it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotError {
    /// Not a snapshot at all (wrong magic).
    NotASnapshot,
    /// The file ends before the header or the payload does.
    Truncated,
    /// Written by another format version or another build of restpg.
    Stale {
        format_version: u32,
        crate_version: String,
    },
    /// The payload does not match its checksum, or bytes follow it.
    Corrupt(String),
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotError::NotASnapshot => write!(f, "not a restpg schema cache snapshot"),
            SnapshotError::Truncated => write!(f, "schema cache snapshot is truncated"),
            SnapshotError::Stale {
                format_version,
                crate_version,
            } => write!(
                f,
                "schema cache snapshot was written by restpg {crate_version} (format {format_version}), \
                 this is restpg {CRATE_VERSION} (format {FORMAT_VERSION})"
            ),
            SnapshotError::Corrupt(why) => write!(f, "schema cache snapshot is corrupt: {why}"),
        }
    }
}

impl std::error::Error for SnapshotError {}

/// The header of a snapshot, read without decoding the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotHeader<'a> {
    pub format_version: u32,
    pub crate_version: &'a str,
    /// What the writer passed to `to_snapshot`: the catalog fingerprint the cache was built at.
    pub fingerprint: &'a str,
    payload: &'a [u8],
    checksum: u32,
}

impl<'a> SnapshotHeader<'a> {
    /// Reads and checks the header: magic, versions, and that the payload is exactly as long as announced.
    /// The checksum is verified by `SchemaCache::from_snapshot`, which reads the payload anyway.
    pub fn read(data: &'a [u8]) -> Result<SnapshotHeader<'a>, SnapshotError> {
        let mut r = Reader { data, pos: 0 };
        if r.take(MAGIC.len())? != MAGIC {
            return Err(SnapshotError::NotASnapshot);
        }
        let format_version = r.u32()?;
        let crate_version_len = usize::from(r.take(1)?[0]);
        let crate_version = r.str(crate_version_len)?;
        if format_version != FORMAT_VERSION || crate_version != CRATE_VERSION {
            return Err(SnapshotError::Stale {
                format_version,
                crate_version: crate_version.to_string(),
            });
        }
        let fingerprint_len = usize::from(u16::from_le_bytes(r.array()?));
        let fingerprint = r.str(fingerprint_len)?;
        let payload_len = u64::from_le_bytes(r.array()?);
        let checksum = r.u32()?;
        let remaining = data.len() - r.pos;
        let payload_len = usize::try_from(payload_len).map_err(|_| SnapshotError::Truncated)?;
        if payload_len > remaining {
            return Err(SnapshotError::Truncated);
        }
        if payload_len < remaining {
            return Err(SnapshotError::Corrupt(format!(
                "{} bytes after the payload",
                remaining - payload_len
            )));
        }
        Ok(SnapshotHeader {
            format_version,
            crate_version,
            fingerprint,
            payload: r.take(payload_len)?,
            checksum,
        })
    }
}

/// What the payload holds: the cache as built, so loading skips inference entirely. Maps are written as
/// sorted lists, which keeps snapshots of the same cache byte-identical.
#[derive(Serialize, Deserialize)]
struct Payload {
    /// Sorted by schema and name (the cache's `table_order`).
    tables: Vec<Table>,
    relationships: Vec<(QualifiedIdentifier, Vec<Relationship>)>,
    /// Each entry: the overloads of one function, fewest parameters first.
    routines: Vec<(QualifiedIdentifier, Vec<Routine>)>,
}

/// [`Payload`] borrowed from a built cache: serde writes a reference as the value it points to, so this
/// encodes to the same bytes without copying the cache first (a deep copy of every table, column and
/// relationship was most of the encoding's time at 10,000 tables).
#[derive(Serialize)]
struct PayloadRef<'a> {
    tables: Vec<&'a Table>,
    relationships: Vec<(&'a QualifiedIdentifier, &'a Vec<Relationship>)>,
    routines: Vec<(&'a QualifiedIdentifier, &'a Vec<Routine>)>,
}

impl SchemaCache {
    /// The snapshot of this cache, tagged with `fingerprint` (see `docs/schema-cache.md`, "Snapshots").
    pub fn to_snapshot(&self, fingerprint: &str) -> Vec<u8> {
        let payload = PayloadRef {
            tables: self.tables().collect(),
            relationships: sorted(&self.relationships),
            routines: sorted(&self.routines),
        };
        // Encoding into a Vec cannot fail for these types (no maps with non-string keys, no `skip`).
        let payload = postcard::to_stdvec(&payload).expect("schema cache encodes");
        // A fingerprint is a short hash; clip defensively so the length always fits its u16 prefix.
        let fingerprint = clip(fingerprint, usize::from(u16::MAX));

        let mut out = Vec::with_capacity(payload.len() + 64);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.push(u8::try_from(CRATE_VERSION.len()).expect("crate version is short"));
        out.extend_from_slice(CRATE_VERSION.as_bytes());
        out.extend_from_slice(&(fingerprint.len() as u16).to_le_bytes());
        out.extend_from_slice(fingerprint.as_bytes());
        out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        out.extend_from_slice(&payload);
        out
    }

    /// Loads a snapshot written by `to_snapshot`; returns the cache and its fingerprint.
    pub fn from_snapshot(data: &[u8]) -> Result<(SchemaCache, String), SnapshotError> {
        let header = SnapshotHeader::read(data)?;
        if crc32fast::hash(header.payload) != header.checksum {
            return Err(SnapshotError::Corrupt("checksum mismatch".to_string()));
        }
        let payload: Payload =
            postcard::from_bytes(header.payload).map_err(|e| SnapshotError::Corrupt(e.to_string()))?;

        let table_order: Vec<QualifiedIdentifier> = payload.tables.iter().map(Table::qi).collect();
        let tables: HashMap<QualifiedIdentifier, Table> =
            table_order.iter().cloned().zip(payload.tables).collect();
        if tables.len() != table_order.len() {
            return Err(SnapshotError::Corrupt("duplicate table".to_string()));
        }
        let cache = SchemaCache {
            tables,
            table_order,
            relationships: payload.relationships.into_iter().collect(),
            routines: payload.routines.into_iter().collect(),
        };
        Ok((cache, header.fingerprint.to_string()))
    }
}

fn sorted<T>(map: &HashMap<QualifiedIdentifier, Vec<T>>) -> Vec<(&QualifiedIdentifier, &Vec<T>)> {
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn clip(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A bounds-checked cursor over the header bytes.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], SnapshotError> {
        let end = self.pos.checked_add(n).ok_or(SnapshotError::Truncated)?;
        let bytes = self.data.get(self.pos..end).ok_or(SnapshotError::Truncated)?;
        self.pos = end;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], SnapshotError> {
        let bytes = self.take(N)?;
        Ok(bytes.try_into().expect("take returns N bytes"))
    }

    fn u32(&mut self) -> Result<u32, SnapshotError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn str(&mut self, n: usize) -> Result<&'a str, SnapshotError> {
        std::str::from_utf8(self.take(n)?)
            .map_err(|_| SnapshotError::Corrupt("header is not UTF-8".to_string()))
    }
}

#[cfg(test)]
#[path = "snapshot_tests.rs"]
mod tests;
