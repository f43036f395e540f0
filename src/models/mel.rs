//! Mel filterbank stored in whisper.cpp model files.
//!
//! Whisper was trained on `librosa.filters.mel(sr=16000, n_fft=400,
//! n_mels=80)`: the Slaney mel scale with Slaney (area) normalisation. The
//! CTranslate2 wheels do not ship it, so it is computed here, in f64 like
//! librosa, and stored as f32.

/// Hz -> mel on the Slaney scale: linear below 1 kHz, logarithmic above.
fn hz_to_mel(hz: f64) -> f64 {
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    let min_log_mel = MIN_LOG_HZ / F_SP;
    let log_step = 6.4f64.ln() / 27.0;
    if hz >= MIN_LOG_HZ {
        min_log_mel + (hz / MIN_LOG_HZ).ln() / log_step
    } else {
        hz / F_SP
    }
}

/// Inverse of [`hz_to_mel`].
fn mel_to_hz(mel: f64) -> f64 {
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    let min_log_mel = MIN_LOG_HZ / F_SP;
    let log_step = 6.4f64.ln() / 27.0;
    if mel >= min_log_mel {
        MIN_LOG_HZ * (log_step * (mel - min_log_mel)).exp()
    } else {
        F_SP * mel
    }
}

/// Triangular mel filters, row-major `n_mels x (n_fft / 2 + 1)`, spanning
/// 0 Hz to Nyquist, each scaled to unit area (Slaney normalisation).
pub fn mel_filters(sample_rate: u32, n_fft: usize, n_mels: usize) -> Vec<f32> {
    let n_bins = n_fft / 2 + 1;
    let nyquist = f64::from(sample_rate) / 2.0;
    let bin_hz: Vec<f64> = (0..n_bins)
        .map(|k| k as f64 * f64::from(sample_rate) / n_fft as f64)
        .collect();
    // n_mels + 2 band edges equally spaced on the mel scale.
    let max_mel = hz_to_mel(nyquist);
    let edges: Vec<f64> = (0..n_mels + 2)
        .map(|i| mel_to_hz(max_mel * i as f64 / (n_mels + 1) as f64))
        .collect();

    let mut weights = Vec::with_capacity(n_mels * n_bins);
    for m in 0..n_mels {
        let (lo, mid, hi) = (edges[m], edges[m + 1], edges[m + 2]);
        let norm = 2.0 / (hi - lo);
        for &f in &bin_hz {
            let rising = (f - lo) / (mid - lo);
            let falling = (hi - f) / (hi - mid);
            weights.push((rising.min(falling).max(0.0) * norm) as f32);
        }
    }
    weights
}

#[cfg(test)]
mod tests {
    use super::*;

    const N_BINS: usize = 201;

    #[test]
    fn whisper_filterbank_has_80_rows_of_201_bins() {
        assert_eq!(mel_filters(16000, 400, 80).len(), 80 * N_BINS);
    }

    #[test]
    fn mel_scale_round_trips_and_is_linear_below_1khz() {
        for hz in [0.0, 40.0, 500.0, 999.0, 1000.0, 3000.0, 8000.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-9);
        }
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
        assert!((hz_to_mel(500.0) - 7.5).abs() < 1e-12);
    }

    #[test]
    fn every_filter_is_one_triangle_with_unit_area_in_hz() {
        let filters = mel_filters(16000, 400, 80);
        for (m, row) in filters.chunks(N_BINS).enumerate() {
            let nonzero: Vec<usize> = (0..N_BINS).filter(|&k| row[k] > 0.0).collect();
            assert!(!nonzero.is_empty(), "filter {m} is empty");
            // Contiguous support: one triangle, no gaps.
            assert_eq!(nonzero.len(), nonzero[nonzero.len() - 1] - nonzero[0] + 1);
            // Slaney normalisation makes each triangle's area ~1 (in Hz,
            // sampled every 40 Hz); coarse sampling of the narrow low
            // filters makes this approximate.
            let area: f64 = row.iter().map(|&w| f64::from(w) * 40.0).sum();
            assert!((0.6..1.4).contains(&area), "filter {m} area {area}");
        }
    }

    #[test]
    fn values_match_the_slaney_formula_at_known_points() {
        let filters = mel_filters(16000, 400, 80);
        // Hand-derived: edges 0, 37.23921, 74.47842 Hz (mel step
        // 45.24564 / 81); at 40 Hz the first filter is on its falling slope.
        let expected = (74.478_42 - 40.0) / 37.239_21 * 2.0 / 74.478_42;
        assert!((f64::from(filters[1]) - expected).abs() < 1e-6);
        assert_eq!(filters[0], 0.0, "0 Hz is the left edge of filter 0");
        assert!((filters[1] - 0.024_862_6).abs() < 1e-6);
        // The top filter ends at Nyquist (8 kHz is its right edge).
        assert!(filters[79 * N_BINS + 200].abs() < 1e-6);
        assert!(filters[79 * N_BINS + 199] > 0.0);
    }
}
