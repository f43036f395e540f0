//! Loading and validating dialplans.
#[derive(Debug, thiserror::Error)]
pub enum DialplanError {
    #[error("cannot read dialplan {path}: {source}")]
    Io { path: String, source: std::io::Error },
}
pub fn load_dialplan(_path: &std::path::Path) -> Result<super::model::Dialplan, DialplanError> {
    unimplemented!()
}
