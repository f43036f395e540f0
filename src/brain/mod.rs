//! What the engine understands from a caller: recognition requests (the
//! transcription itself runs in the runtime), intent routing, slots,
//! agitation and the handoff summary.

pub mod agitation;
pub mod asr;
pub mod intent;
pub mod slots;
pub mod summary;
pub mod text;
