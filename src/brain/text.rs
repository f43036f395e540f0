//! Text normalisation shared by the router, slots and agitation: lowercase,
//! strip punctuation, split into words (and into characters for Chinese).
