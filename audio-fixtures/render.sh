#!/usr/bin/env bash
# Renders every caller fixture listed in fixtures.tsv the way it would reach
# us over a phone line (8 kHz mono mu-law, 300-3400 Hz, optional background
# noise), and writes each one's JSON sidecar from the same manifest row so the
# expectations can never drift from the audio.
#
# Usage: audio-fixtures/render.sh [ID...]   no ID: render all, drop stale files
#        audio-fixtures/render.sh --check    render all elsewhere and fail if the
#                                            committed files differ
#        audio-fixtures/render.sh --dir DIR  render DIR/fixtures.tsv into DIR
#                                            (the bench's held-out callers)
# Needs: espeak-ng, sox. Output is byte-identical from run to run (sox -R).
set -euo pipefail
export LC_ALL=C

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ ${1:-} == --dir ]]; then
  here="$(cd "${2:?--dir needs a folder}" && pwd)"
  shift 2
fi
manifest="$here/fixtures.tsv"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
check=false
out="$here"
if [[ ${1:-} == --check ]]; then
  check=true
  out="$work/check"
  mkdir -p "$out"
  shift
fi

# Speech is synthesised and mixed at 16 kHz, then squeezed through the channel.
sr=16000
intents=" check_balance data_usage pay_bill bill_dispute change_plan internet_outage lost_phone roaming cancel_service refund_status store_hours human_agent complaint "
routes=" self_service queue clarify "

die() { echo "render.sh: $*" >&2; exit 1; }
for tool in espeak-ng sox; do command -v "$tool" >/dev/null || die "$tool is not installed"; done

# A number in 0..n-1 derived from a string, so pauses and offsets vary between
# fixtures but stay the same on every run.
hash_mod() { local h; h=$(printf '%s' "$1" | cksum); echo $(( ${h%% *} % $2 )); }

# Seconds as a decimal: base + (hash % steps) / 100.
hash_seconds() { awk -v b="$1" -v k="$(hash_mod "$2" "$3")" 'BEGIN { printf "%.2f", b + k / 100 }'; }

rms_db() { sox "$1" -n stats 2>&1 | awk '/^RMS lev dB/ { print $4 }'; }

json_str() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\t'/\\t}
  printf '"%s"' "$s"
}

json_or_null() { if [[ $1 == "-" || $1 == "none" ]]; then printf 'null'; else json_str "$1"; fi; }

# speak VOICE SPEED PITCH AMPLITUDE TEXT OUT: one utterance at the working rate.
speak() {
  printf '%s' "$5" | espeak-ng -b 1 -v "$1" -s "$2" -p "$3" -a "$4" --stdin -w "$work/raw.wav" \
    || die "espeak-ng failed for voice $1"
  # 6 dB of headroom puts calm speech near the -26 dBov nominal phone level
  # and leaves room for loud callers plus noise without clipping.
  sox -R "$work/raw.wav" -r "$sr" -c 1 -b 16 "$6" gain -6
}

# Several talkers chatting about nothing the hotline handles, mixed into one
# 40 s bed; each noisy fixture takes a slice at its own offset.
babble_bed() {
  local bed="$work/babble.wav"
  [[ -f $bed ]] && { echo "$bed"; return; }
  local lines=(
    "so I told her we would meet at the station around six, and then we could walk over together"
    "the garden looks lovely this year, we planted tomatoes and beans along the back fence"
    "did you see the match on Saturday, the second half was much better than the first"
    "I'm not sure the bakery is open today, maybe we should try the one near the library"
    "my brother is moving next month, so we will need to help him carry the boxes"
    "the meeting went on far too long, and nobody could agree on the colour of the new logo"
  )
  local voices=(en-us+m3 en+f3 en-gb-x-rp en-us+f2 en+m2 en-029+f4)
  local parts=() i
  for i in "${!lines[@]}"; do
    speak "${voices[$i]}" 165 50 100 "${lines[$i]}. ${lines[$(((i + 1) % ${#lines[@]}))]}." "$work/talker$i.wav"
    # Loop each talker past 40 s and start them at different points.
    sox -R "$work/talker$i.wav" "$work/talker${i}l.wav" repeat 6 trim "$((i * 2))" 40
    parts+=(-v 1 "$work/talker${i}l.wav")
  done
  sox -R -m "${parts[@]}" "$bed" gain -n -20
  echo "$bed"
}

# noise_track KIND DURATION SEED OUT
noise_track() {
  case $1 in
    white | pink | brown) sox -R -n -r "$sr" -c 1 -b 16 "$4" synth "$2" "${1}noise" ;;
    babble)
      local bed offset
      bed=$(babble_bed)
      offset=$(hash_seconds 0 "$3" 1500)
      sox -R "$bed" "$4" trim "$offset" "$2"
      ;;
    *) die "unknown noise kind '$1'" ;;
  esac
}

render_one() {
  local id=$1 lang=$2 voice=$3 speed=$4 pitch=$5 amp=$6 noise=$7 agitated=$8 intent=$9 route=${10} text=${11}

  # Split the call into utterances on " | ".
  local segs=() rest=$text
  while [[ $rest == *' | '* ]]; do
    segs+=("${rest%% | *}")
    rest=${rest#* | }
  done
  segs+=("$rest")

  local pieces=() speech_only=() utterances=() i seg s p a kv
  for i in "${!segs[@]}"; do
    seg=${segs[$i]} s=$speed p=$pitch a=$amp
    # "{s=210 p=85 a=190} text" overrides the row's prosody for one utterance
    # (a caller who escalates mid-call).
    if [[ $seg =~ ^\{([^}]*)\}[[:space:]]*(.*)$ ]]; then
      seg=${BASH_REMATCH[2]}
      for kv in ${BASH_REMATCH[1]}; do
        case $kv in
          s=*) s=${kv#s=} ;;
          p=*) p=${kv#p=} ;;
          a=*) a=${kv#a=} ;;
          *) die "$id: bad prosody override '$kv'" ;;
        esac
      done
    fi
    [[ -n $seg ]] || die "$id: empty utterance"
    speak "$voice" "$s" "$p" "$a" "$seg" "$work/seg$i.wav"
    if ((i > 0)); then
      sox -R -n -r "$sr" -c 1 -b 16 "$work/pause$i.wav" trim 0 "$(hash_seconds 1.2 "$id/$i" 81)"
      pieces+=("$work/pause$i.wav")
    fi
    pieces+=("$work/seg$i.wav")
    speech_only+=("$work/seg$i.wav")
    utterances+=("$seg")
  done

  local lead trail
  lead=$(hash_seconds 0.3 "$id/lead" 51)
  trail=$(hash_seconds 0.3 "$id/trail" 51)
  if ((${#pieces[@]} > 1)); then sox -R "${pieces[@]}" "$work/joined.wav"; else cp "${pieces[0]}" "$work/joined.wav"; fi
  sox -R "$work/joined.wav" "$work/speech.wav" pad "$lead" "$trail"

  local mixed="$work/speech.wav" noise_json=null
  if [[ $noise != none ]]; then
    local kind=${noise%%:*} snr=${noise#*:} dur speech_db noise_db
    noise_json="{\"kind\": \"$kind\", \"snr_db\": $snr}"
    dur=$(soxi -D "$work/speech.wav")
    noise_track "$kind" "$dur" "$id" "$work/noise.wav"
    # SNR against the active speech level, not the silence-padded file.
    if ((${#speech_only[@]} > 1)); then sox -R "${speech_only[@]}" "$work/active.wav"; else cp "${speech_only[0]}" "$work/active.wav"; fi
    speech_db=$(rms_db "$work/active.wav")
    noise_db=$(rms_db "$work/noise.wav")
    sox -R "$work/noise.wav" "$work/noise_lvl.wav" gain "$(awk -v s="$speech_db" -v n="$noise_db" -v r="$snr" 'BEGIN { printf "%.2f", s - r - n }')"
    sox -R -m -v 1 "$work/speech.wav" -v 1 "$work/noise_lvl.wav" "$work/mixed.wav"
    mixed="$work/mixed.wav"
  fi

  # The phone channel: 300-3400 Hz band, 8 kHz, G.711 mu-law.
  sox -R "$mixed" -r 8000 -c 1 -e mu-law -b 8 "$work/out.wav" sinc 300-3400 rate -v 8000
  mv "$work/out.wav" "$out/$id.wav"

  local utt_json="" u
  for u in "${utterances[@]}"; do utt_json+="${utt_json:+, }$(json_str "$u")"; done
  cat >"$out/$id.json.tmp" <<JSON
{
  "id": $(json_str "$id"),
  "language": $(json_str "$lang"),
  "intent": $(json_or_null "$intent"),
  "agitated": $agitated,
  "route": $(json_or_null "$route"),
  "utterances": [$utt_json],
  "voice": $(json_str "$voice"),
  "speed_wpm": $speed,
  "pitch": $pitch,
  "amplitude": $amp,
  "noise": $noise_json,
  "duration_s": $(soxi -D "$out/$id.wav")
}
JSON
  mv "$out/$id.json.tmp" "$out/$id.json"
}

# espeak-ng quietly falls back to a default for an unknown voice, so check
# names against what it lists.
known_voices=" $(espeak-ng --voices | awk 'NR > 1 { print $2; for (i = 6; i <= NF; i++) if (sub(/^\(/, "", $i)) print $i }' | tr '\n' ' ') "
known_variants=" $(espeak-ng --voices=variant | awk 'NR > 1 { sub(/^!v\//, "", $5); print $5 }' | tr '\n' ' ') "

validate_row() {
  local id=$1 lang=$2 voice=$3 speed=$4 pitch=$5 amp=$6 noise=$7 agitated=$8 intent=$9 route=${10} text=${11}
  [[ $id =~ ^[a-z0-9_]+$ ]] || die "bad id '$id'"
  [[ $lang == en || $lang == zh ]] || die "$id: language must be en or zh, got '$lang'"
  [[ $known_voices == *" ${voice%%+*} "* ]] || die "$id: espeak-ng has no voice '${voice%%+*}'"
  [[ $voice != *+* || $known_variants == *" ${voice#*+} "* ]] || die "$id: espeak-ng has no variant '${voice#*+}'"
  [[ $speed =~ ^[0-9]+$ && $pitch =~ ^[0-9]+$ && $amp =~ ^[0-9]+$ ]] || die "$id: speed, pitch, amplitude must be integers"
  [[ $noise == none || $noise =~ ^(white|pink|brown|babble):[0-9]+$ ]] || die "$id: noise must be none or kind:snr_db, got '$noise'"
  [[ $agitated == true || $agitated == false ]] || die "$id: agitated must be true or false"
  [[ $intent == none || $intents == *" $intent "* ]] || die "$id: unknown intent '$intent'"
  [[ $route == - || $routes == *" $route "* ]] || die "$id: unknown route '$route'"
  [[ -n $text ]] || die "$id: empty text"
}

[[ -f $manifest ]] || die "missing $manifest"
declare -A wanted=() seen=()
for arg in "$@"; do wanted[$arg]=1; done

rendered=0 line_no=0
while IFS=$'\t' read -r -a row || [[ ${#row[@]} -gt 0 ]]; do
  line_no=$((line_no + 1))
  [[ ${#row[@]} -eq 0 || ${row[0]} == \#* ]] && continue
  ((${#row[@]} == 11)) || die "line $line_no: expected 11 tab-separated columns, got ${#row[@]}"
  validate_row "${row[@]}"
  [[ -z ${seen[${row[0]}]:-} ]] || die "line $line_no: duplicate id ${row[0]}"
  seen[${row[0]}]=1
  if (($# == 0)) || [[ -n ${wanted[${row[0]}]:-} ]]; then
    render_one "${row[@]}"
    rendered=$((rendered + 1))
  fi
done <"$manifest"

if $check; then
  stale=0
  for f in "$out"/*; do
    cmp -s "$f" "$here/$(basename "$f")" || { echo "differs from the manifest: $(basename "$f")"; stale=1; }
  done
  for f in "$here"/*.wav "$here"/*.json; do
    [[ -e $f ]] || continue
    base=$(basename "$f")
    [[ -n ${seen[${base%.*}]:-} ]] || { echo "not in the manifest: $base"; stale=1; }
  done
  ((stale == 0)) || die "fixtures are out of date: run audio-fixtures/render.sh"
  echo "all $rendered fixture(s) match the manifest"
  exit 0
fi

# A full run also drops files whose row was removed from the manifest.
if (($# == 0)); then
  for f in "$here"/*.wav "$here"/*.json; do
    [[ -e $f ]] || continue
    base=$(basename "$f")
    [[ -n ${seen[${base%.*}]:-} ]] || { rm -f "$f"; echo "removed stale $base"; }
  done
fi
echo "rendered $rendered fixture(s) into $out"
