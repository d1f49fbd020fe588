# Imports the real captures of ../shared/data (see its README) into $OUT/malware/ and
# $OUT/normal/, one JSONL file per capture; sourced by real-eval.sh and host-eval.sh with
# DATA, OUT and M (the malhost binary) set.
mkdir -p "$OUT/malware" "$OUT/normal"
S="$DATA/stratosphere"
L="$S/StratosphereLinuxIPS/dataset"
T="$S/security-datasets-for-testing"

imp() { # FORMAT OUTFILE INPUT...
  local fmt=$1 out=$2
  shift 2
  "$M" import --format "$fmt" "$@" 2>>"$OUT/import.log" | grep -v '"pipeline_error"' >"$out" || true
}

# Malware: one sample per capture.
for f in "$L"/Malicious/*; do imp argus "$OUT/malware/$(basename "${f%.binetflow}").jsonl" "$f"; done
imp zeek "$OUT/malware/zeek-001-botnet-230-1.jsonl" "$T/001-zeek-scenario-malicious/conn.log"
imp zeek "$OUT/malware/zeek-003-android-rat01.jsonl" "$T/003-zeek-scenario-malicious/conn.log"
imp zeek "$OUT/malware/zeek-005-botnet-355-1.jsonl" "$T/005-zeek-scenario-malicious/conn.log" "$T/005-zeek-scenario-malicious/http.log"
imp zeek "$OUT/malware/zeek-009-kovter.jsonl" "$T/009-zeek-malicious/data/http.log.labeled"
imp zeek "$OUT/malware/zeek-test14.jsonl" "$L/test14-malicious-zeek-dir/conn.log" "$L/test14-malicious-zeek-dir/http.log"
imp zeek "$OUT/malware/zeek-test18-remcos.jsonl" "$L/test18-malicious-ctu-sme-11-win/zeek-labeled/conn.log.labeled"

# Normal: one host per capture.
for f in "$L"/Normal/*; do imp argus "$OUT/normal/$(basename "${f%.binetflow}").jsonl" "$f"; done
for h in 008 010 011 012; do
  d=$(echo "$T/$h"-*/data)
  imp zeek "$OUT/normal/zeek-$h.jsonl" "$d/conn.log.labeled" "$d/http.log.labeled"
done

