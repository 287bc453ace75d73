//! The transparency log over the audit trail: proofs checked against an
//! independent RFC 9162 verifier, the sequencer, signed heads and
//! manifests, `termaudit`'s evidence over HTTP.

mod proofs;
