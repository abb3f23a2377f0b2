//! Table of rcgen-built bundles, one per refusal.
