//! A LiveRC-shaped site on loopback. (Being written.)
