//! Listening in from the browser: a supervisor's page offers WebRTC, the
//! engine answers with one PCMU audio track carrying the live call (caller
//! and engine or agent, mixed) through the `webrtc` crate. Plain WebRTC, so
//! any browser plays it with no plugin.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rtc::media::Sample;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::MIME_TYPE_PCMU;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters,
    RtpCodecKind,
};
use tokio::sync::mpsc;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCConfigurationBuilder, RTCIceGatheringState, RTCPeerConnectionState, RTCSessionDescription,
    Registry, register_default_interceptors,
};
use webrtc::runtime::TokioRuntime;

use crate::media::g711::encode_ulaw;

/// One 20 ms frame of 8 kHz audio, as the call task mixes it.
pub type Frame = [i16; 160];

/// Frames a slow listener may fall behind by before frames are dropped.
pub const LISTEN_BACKLOG: usize = 50;
/// How long ICE gathering may take on loopback or a LAN before we answer
/// with what we have.
const GATHER_LIMIT: Duration = Duration::from_secs(3);
/// How long the browser has to connect before the listener is dropped.
const CONNECT_LIMIT: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error("the offer is not a usable WebRTC audio offer: {0}")]
    BadOffer(String),
    #[error("WebRTC failed: {0}")]
    WebRtc(String),
}

struct Events {
    gathered: mpsc::Sender<()>,
    state: mpsc::Sender<RTCPeerConnectionState>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Events {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.gathered.try_send(());
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let _ = self.state.try_send(state);
    }
}

/// Answers a browser's offer and streams `frames` to it until the call ends
/// (the sender is dropped) or the browser leaves. `bind_ip` is where the
/// media socket listens (the HTTP server's address).
pub async fn answer(
    offer_sdp: String,
    bind_ip: std::net::IpAddr,
    frames: mpsc::Receiver<Frame>,
) -> Result<String, ListenError> {
    let webrtc = |e: webrtc::error::Error| ListenError::WebRtc(e.to_string());
    let codec = RTCRtpCodec {
        mime_type: MIME_TYPE_PCMU.to_owned(),
        clock_rate: 8000,
        channels: 0,
        sdp_fmtp_line: String::new(),
        rtcp_feedback: vec![],
    };
    let mut media = MediaEngine::default();
    media
        .register_codec(
            RTCRtpCodecParameters {
                rtp_codec: codec.clone(),
                payload_type: 0,
            },
            RtpCodecKind::Audio,
        )
        .map_err(webrtc)?;
    let registry = register_default_interceptors(Registry::new(), &mut media).map_err(webrtc)?;
    let (gathered_tx, mut gathered) = mpsc::channel(1);
    let (state_tx, state) = mpsc::channel(16);
    let pc = PeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_media_engine(media)
        .with_interceptor_registry(registry)
        .with_handler(Arc::new(Events {
            gathered: gathered_tx,
            state: state_tx,
        }))
        .with_runtime(Arc::new(TokioRuntime))
        .with_udp_addrs(vec![format!("{}:0", bind_ip)])
        .build()
        .await
        .map_err(webrtc)?;
    let pc: Arc<dyn PeerConnection> = Arc::new(pc);
    let ssrc = rand_ssrc();
    let track = Arc::new(
        TrackLocalStaticSample::new(
            Instant::now(),
            MediaStreamTrack::new(
                "ivr-call".to_string(),
                "ivr-call-audio".to_string(),
                "call audio".to_string(),
                RtpCodecKind::Audio,
                vec![RTCRtpEncodingParameters {
                    rtp_coding_parameters: RTCRtpCodingParameters {
                        ssrc: Some(ssrc),
                        ..Default::default()
                    },
                    codec,
                    ..Default::default()
                }],
            ),
        )
        .map_err(webrtc)?,
    );
    pc.add_track(track.clone() as Arc<dyn TrackLocal>)
        .await
        .map_err(webrtc)?;
    let offer = RTCSessionDescription::offer(offer_sdp)
        .map_err(|e| ListenError::BadOffer(e.to_string()))?;
    pc.set_remote_description(offer)
        .await
        .map_err(|e| ListenError::BadOffer(e.to_string()))?;
    let local = pc.create_answer(None).await.map_err(webrtc)?;
    pc.set_local_description(local).await.map_err(webrtc)?;
    let _ = tokio::time::timeout(GATHER_LIMIT, gathered.recv()).await;
    let sdp = pc
        .local_description()
        .await
        .map(|d| d.sdp)
        .ok_or_else(|| ListenError::WebRtc("no local description".into()))?;
    tokio::spawn(stream(pc, track, ssrc, state, frames));
    Ok(sdp)
}

/// Sends the call's frames once the browser is connected; closes the peer
/// connection when either side is done.
async fn stream(
    pc: Arc<dyn PeerConnection>,
    track: Arc<TrackLocalStaticSample>,
    ssrc: u32,
    mut state: mpsc::Receiver<RTCPeerConnectionState>,
    mut frames: mpsc::Receiver<Frame>,
) {
    let connected = tokio::time::timeout(CONNECT_LIMIT, async {
        while let Some(s) = state.recv().await {
            match s {
                RTCPeerConnectionState::Connected => return true,
                RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed => return false,
                _ => {}
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    if connected {
        loop {
            tokio::select! {
                frame = frames.recv() => {
                    let Some(frame) = frame else { break };
                    let sample = Sample {
                        data: encode_ulaw(&frame).into(),
                        duration: Duration::from_millis(20),
                        ..Sample::new(Instant::now())
                    };
                    if track.sample_writer(ssrc, 0).write_sample(&sample).await.is_err() {
                        break;
                    }
                }
                s = state.recv() => match s {
                    Some(RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed
                        | RTCPeerConnectionState::Disconnected) | None => break,
                    _ => {}
                },
            }
        }
    }
    let _ = pc.close().await;
}

/// An SSRC that differs per listener (no security depends on it).
fn rand_ssrc() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    nanos ^ 0x1f2e_3d4c
}
