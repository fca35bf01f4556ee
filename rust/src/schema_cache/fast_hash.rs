//! The hash maps and sets of the schema cache, with a fast non-keyed hash (FxHash) instead of SipHash.
//!
//! Their keys are catalog names and oids: what is inserted comes from whoever may create objects in the
//! exposed schemas, never from a request (a request's names are only looked up). SipHash's defence against
//! chosen colliding keys guards nothing that role could not slow down with more tables anyway, and it cost
//! about a tenth of building the cache (10,000 tables: 113-117 → 103-108 ms).

use std::hash::BuildHasherDefault;

use rustc_hash::FxHasher;

pub type BuildFx = BuildHasherDefault<FxHasher>;
pub type HashMap<K, V> = std::collections::HashMap<K, V, BuildFx>;
pub type HashSet<T> = std::collections::HashSet<T, BuildFx>;
