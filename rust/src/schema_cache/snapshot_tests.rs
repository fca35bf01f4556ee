//! Snapshots of the fixture cache: round trip, and every kind of damage is an error, never a panic.

use super::*;

const FIXTURE: &[u8] = include_bytes!("../../tests/fixtures/schema.json");
const FINGERPRINT: &str = "3f2a9c1e";

fn fixture() -> SchemaCache {
    SchemaCache::from_document(FIXTURE).expect("fixture loads")
}

/// Offset of the payload: magic, format version, crate version, fingerprint, length, checksum.
fn payload_offset() -> usize {
    8 + 4 + 1 + CRATE_VERSION.len() + 2 + FINGERPRINT.len() + 8 + 4
}

/// Re-seal a payload with a correct length and checksum, to reach the decoder with damaged data.
fn reseal(snapshot: &[u8], payload: &[u8]) -> Vec<u8> {
    let offset = payload_offset();
    let mut out = snapshot[..offset - 12].to_vec();
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// A sorted copy of one of the cache's maps, as the decoder's owned `Payload` holds it.
fn owned<T: Clone>(map: &HashMap<QualifiedIdentifier, Vec<T>>) -> Vec<(QualifiedIdentifier, Vec<T>)> {
    sorted(map)
        .into_iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[test]
fn the_borrowed_payload_encodes_as_the_owned_one_decodes() {
    let cache = fixture();
    let copy = Payload {
        tables: cache.tables().cloned().collect(),
        relationships: owned(&cache.relationships),
        routines: owned(&cache.routines),
    };
    let snapshot = cache.to_snapshot(FINGERPRINT);
    assert_eq!(&snapshot[payload_offset()..], postcard::to_stdvec(&copy).unwrap());
}

#[test]
fn round_trip_keeps_the_whole_cache() {
    let cache = fixture();
    let snapshot = cache.to_snapshot(FINGERPRINT);
    let (loaded, fingerprint) = SchemaCache::from_snapshot(&snapshot).unwrap();
    assert_eq!(fingerprint, FINGERPRINT);
    assert_eq!(loaded.to_json(), cache.to_json());
    assert_eq!(loaded.table_count(), cache.table_count());
    assert_eq!(loaded.relationship_count(), cache.relationship_count());
    assert_eq!(loaded.routine_count(), cache.routine_count());
    // Lookups work on the rebuilt maps, in the same order.
    let projects = QualifiedIdentifier::new("test", "projects");
    assert_eq!(loaded.table(&projects), cache.table(&projects));
    assert_eq!(loaded.relationships(&projects), cache.relationships(&projects));
    let hello = QualifiedIdentifier::new("test", "hello");
    assert_eq!(loaded.routines(&hello), cache.routines(&hello));
    assert_eq!(
        loaded.suggest_table("test", "projcts").map(Table::qi),
        Some(projects)
    );
}

#[test]
fn snapshots_are_deterministic_and_smaller_than_the_document() {
    let cache = fixture();
    let snapshot = cache.to_snapshot(FINGERPRINT);
    assert_eq!(snapshot, cache.to_snapshot(FINGERPRINT));
    let (loaded, _) = SchemaCache::from_snapshot(&snapshot).unwrap();
    assert_eq!(loaded.to_snapshot(FINGERPRINT), snapshot);
    assert!(
        snapshot.len() < FIXTURE.len(),
        "{} >= {}",
        snapshot.len(),
        FIXTURE.len()
    );
}

#[test]
fn header_is_read_without_the_payload() {
    let snapshot = fixture().to_snapshot(FINGERPRINT);
    let header = SnapshotHeader::read(&snapshot).unwrap();
    assert_eq!(header.fingerprint, FINGERPRINT);
    assert_eq!(header.format_version, FORMAT_VERSION);
    assert_eq!(header.crate_version, CRATE_VERSION);
}

#[test]
fn every_truncation_is_detected() {
    let snapshot = fixture().to_snapshot(FINGERPRINT);
    // Every cut inside the header, then a sample of cuts through the payload.
    let cuts = (0..payload_offset() + 16).chain((payload_offset()..snapshot.len()).step_by(97));
    for len in cuts {
        let err = SchemaCache::from_snapshot(&snapshot[..len]).unwrap_err();
        assert_eq!(err, SnapshotError::Truncated, "cut at {len}");
    }
}

#[test]
fn a_flipped_payload_byte_fails_the_checksum() {
    let snapshot = fixture().to_snapshot(FINGERPRINT);
    for at in (payload_offset()..snapshot.len()).step_by(131) {
        let mut damaged = snapshot.clone();
        damaged[at] ^= 0x20;
        let err = SchemaCache::from_snapshot(&damaged).unwrap_err();
        assert_eq!(
            err,
            SnapshotError::Corrupt("checksum mismatch".into()),
            "byte {at}"
        );
    }
}

#[test]
fn damaged_payload_with_a_valid_checksum_is_a_decode_error() {
    let snapshot = fixture().to_snapshot(FINGERPRINT);
    let payload = &snapshot[payload_offset()..];
    // Cuts and bit flips that the checksum would have caught, resealed so the decoder sees them.
    for at in (0..payload.len()).step_by(53) {
        let mut flipped = payload.to_vec();
        flipped[at] = flipped[at].wrapping_add(0x81);
        for damaged in [&payload[..at], flipped.as_slice()] {
            // A flip can still decode to a valid (different) cache; it must never panic.
            if let Err(err) = SchemaCache::from_snapshot(&reseal(&snapshot, damaged)) {
                assert!(matches!(err, SnapshotError::Corrupt(_)), "byte {at}: {err}");
            }
        }
    }
}

#[test]
fn trailing_bytes_are_corruption() {
    let mut snapshot = fixture().to_snapshot(FINGERPRINT);
    snapshot.push(0);
    let err = SchemaCache::from_snapshot(&snapshot).unwrap_err();
    assert_eq!(err, SnapshotError::Corrupt("1 bytes after the payload".into()));
}

#[test]
fn other_files_and_versions_are_refused() {
    let snapshot = fixture().to_snapshot(FINGERPRINT);
    assert_eq!(
        SchemaCache::from_snapshot(FIXTURE).unwrap_err(),
        SnapshotError::NotASnapshot
    );

    let mut newer_format = snapshot.clone();
    newer_format[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    assert!(matches!(
        SchemaCache::from_snapshot(&newer_format).unwrap_err(),
        SnapshotError::Stale { format_version, .. } if format_version == FORMAT_VERSION + 1
    ));

    // Another build of restpg: same length, one different character in the version.
    let mut other_build = snapshot;
    other_build[13] = if other_build[13] == b'9' { b'8' } else { b'9' };
    let err = SchemaCache::from_snapshot(&other_build).unwrap_err();
    assert!(matches!(err, SnapshotError::Stale { .. }), "{err}");
    assert!(err.to_string().contains("written by restpg"), "{err}");
}

#[test]
fn fingerprints_round_trip_and_long_ones_are_clipped() {
    let cache = fixture();
    let (_, empty) = SchemaCache::from_snapshot(&cache.to_snapshot("")).unwrap();
    assert_eq!(empty, "");
    let long = "é".repeat(40_000);
    let (_, clipped) = SchemaCache::from_snapshot(&cache.to_snapshot(&long)).unwrap();
    assert!(clipped.len() <= usize::from(u16::MAX) && long.starts_with(&clipped));
}
