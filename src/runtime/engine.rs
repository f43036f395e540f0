//! What every call shares: the dialplan, the router, the recogniser, the
//! prompt cache and the call store. Loaded once by `ivr serve` (or a test).

use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, OnceLock};

use crate::board::BoardConfig;
use crate::brain::asr::Language;
use crate::brain::intent::Router;
use crate::call::{CallConfig, clarify_prompts, static_prompts};
use crate::call_record::CallRecord;
use crate::dialplan::Dialplan;
use crate::runtime::asr_service::AsrService;
use crate::runtime::live::LiveBoard;
use crate::runtime::metrics::Metrics;
use crate::runtime::prompt_cache::PromptCache;
use crate::runtime::replay::Brain;
use crate::runtime::store_writer::StoreWriter;
use crate::runtime::supervise::{SuperviseError, Supervisor, SupervisorAction};
use crate::runtime::tts::PromptRenderer;
use crate::session::EarlyDecision;
use crate::store::{Store, StoreError};

/// Per-call settings taken from the config file.
#[derive(Debug, Clone)]
pub struct CallSettings {
    pub no_input_ms: u64,
    pub max_no_input: u32,
    pub barge_in: bool,
    pub playout_delay_ms: u32,
    /// Where call recordings go; `None` records nothing.
    pub recordings: Option<PathBuf>,
    /// Recorded prompts for queue announcements (Asterisk's sound layout).
    pub sounds_dir: Option<PathBuf>,
    /// Transcribe at the caller's first pause (speculatively).
    pub early_recognition: bool,
    /// Answer at a pause when the early transcript is a complete, confident
    /// request, instead of after the whole hangover.
    pub early_decision: bool,
    /// A transcript later than this after the caller stopped (the
    /// recogniser is busy with other callers): the caller hears "one
    /// moment". `None`: never.
    pub one_moment_after_ms: Option<u64>,
    /// A transcript still not back this long after it was asked for is
    /// given up: the caller goes to a person. `None`: wait however long.
    pub give_up_after_ms: Option<u64>,
}

impl Default for CallSettings {
    fn default() -> Self {
        CallSettings {
            no_input_ms: 6000,
            max_no_input: 2,
            barge_in: true,
            playout_delay_ms: 60,
            recordings: None,
            sounds_dir: default_sounds_dir(),
            early_recognition: true,
            early_decision: false,
            one_moment_after_ms: Some(1500),
            give_up_after_ms: Some(8000),
        }
    }
}

impl CallSettings {
    /// The call core's settings for one call from `caller`.
    pub fn call_config(&self, language: Language, caller: String, call_id: String) -> CallConfig {
        CallConfig {
            language,
            no_input_ms: self.no_input_ms,
            max_no_input: self.max_no_input,
            barge_in: self.barge_in,
            caller,
            call_id,
            sounds_dir: self.sounds_dir.clone(),
            early_recognition: self.early_recognition,
            early_decision: self.early_decision.then(EarlyDecision::default),
        }
    }
}

pub struct Engine {
    pub dialplan: Arc<Dialplan>,
    pub router: Arc<Router>,
    pub language: Language,
    pub asr: AsrService,
    pub prompts: PromptCache,
    /// Reads, and the few writes that are not call records (dispositions).
    pub store: Mutex<Store>,
    /// Call records, saved on a thread of their own in group commits.
    pub writer: StoreWriter,
    pub calls: CallSettings,
    /// Live calls, queues and agents for the supervisors' board.
    pub live: Arc<LiveBoard>,
    pub metrics: Metrics,
    /// Calls started so far: which tick group the next one joins.
    pub calls_started: AtomicU64,
    /// Set when the SIP server starts: it carries out supervisors' actions.
    pub supervisor: OnceLock<Supervisor>,
}

impl Engine {
    pub fn new(
        brain: &Brain,
        renderer: PromptRenderer,
        store: Store,
        calls: CallSettings,
    ) -> Result<Engine, StoreError> {
        // A second connection to the same file: WAL lets the writer thread
        // commit while the other reads.
        let reader = Store::open(store.path())?;
        let writer = StoreWriter::spawn(store).map_err(StoreError::WriterThread)?;
        Ok(Engine {
            dialplan: brain.dialplan.clone(),
            router: brain.router.clone(),
            language: brain.language,
            asr: brain.asr.clone(),
            prompts: PromptCache::new(renderer),
            store: Mutex::new(reader),
            writer,
            calls,
            live: Arc::new(LiveBoard::new(board_config(&brain.dialplan))),
            metrics: Metrics::new(),
            calls_started: AtomicU64::new(0),
            supervisor: OnceLock::new(),
        })
    }

    /// Carries out a supervisor's action on the running server.
    pub async fn supervise(&self, action: SupervisorAction) -> Result<(), SuperviseError> {
        match self.supervisor.get() {
            Some(s) => s.run(action).await,
            None => Err(SuperviseError::NotRunning),
        }
    }

    /// Renders every fixed prompt of the dialplan now, so no caller waits
    /// for text-to-speech. Returns how many failed (they are logged and
    /// retried when a call needs them).
    pub fn prewarm_prompts(&self) -> usize {
        let mut failed = 0;
        for (key, text, wav) in static_prompts(&self.dialplan, self.language) {
            if let Err(e) = self
                .prompts
                .render(&key, &text, self.language, wav.as_deref())
            {
                tracing::warn!(%key, "prompt not rendered: {e}");
                failed += 1;
            }
        }
        failed
    }

    /// Renders the clarify questions (one per pair of intents): too many to
    /// wait for at startup, so the runtime runs this in the background.
    pub fn prewarm_clarify_prompts(&self) -> usize {
        let mut failed = 0;
        for (key, text, wav) in clarify_prompts(&self.dialplan, self.language) {
            if self
                .prompts
                .render(&key, &text, self.language, wav.as_deref())
                .is_err()
            {
                failed += 1;
            }
        }
        failed
    }

    /// Reads a stored call record (blocking).
    pub fn get_call(&self, id: &str) -> Result<Option<CallRecord>, StoreError> {
        let store = self.store.lock().unwrap_or_else(|p| p.into_inner());
        store.get_call(id)
    }

    /// Saves a call record through the writer thread and waits until it is
    /// durable (blocking: for tools and tests; call tasks use the writer).
    pub fn save_call(&self, record: &CallRecord) -> Result<(), StoreError> {
        self.writer.save_and_wait(record.clone())
    }
}

pub type SharedEngine = Arc<Engine>;

fn board_config(dialplan: &Dialplan) -> BoardConfig {
    BoardConfig {
        agitation_threshold: dialplan.agitation_threshold,
        queues: dialplan
            .queues
            .iter()
            .map(|q| (q.clone(), dialplan.queue_settings(q).target_answer_s))
            .collect(),
    }
}

/// Debian's `asterisk-core-sounds-en-wav`, when installed.
pub fn default_sounds_dir() -> Option<PathBuf> {
    let dir = PathBuf::from("/usr/share/asterisk/sounds/en");
    dir.is_dir().then_some(dir)
}
