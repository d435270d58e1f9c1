#!/usr/bin/env bash
# Makes the demo's sample media, one file of each kind WhatsApp sends, into demo/samples/.
# The outputs are committed (they are small); run this again only to change them.
# Needs Debian's ffmpeg (with libx264, libopus, libwebp) and, for a spoken voice note, espeak-ng
# (without it the voice note is a tone): apt-get install -y ffmpeg espeak-ng
set -euo pipefail
cd "$(dirname "$0")/.."
out=demo/samples
mkdir -p "$out"
ff=(ffmpeg -hide_banner -loglevel error -y)
# Reproducible outputs: no encoder version or creation time in the files.
meta=(-map_metadata -1 -fflags +bitexact -flags:v +bitexact -flags:a +bitexact)

# Photo: one frame of ffmpeg's moving test pattern.
"${ff[@]}" -f lavfi -i testsrc2=size=800x600:rate=1 -frames:v 1 -q:v 5 "${meta[@]}" "$out/photo.jpg"

# Video: H.264 + AAC, 6 s of moving pattern. No `-movflags +faststart`: ffmpeg then writes the moov
# atom after mdat, as many phones do, so a browser must use Range to read the index before playing.
"${ff[@]}" -f lavfi -i testsrc2=size=640x360:rate=25 -f lavfi -i sine=frequency=330:sample_rate=48000 \
  -t 6 -c:v libx264 -preset veryfast -profile:v main -pix_fmt yuv420p -crf 30 -g 50 \
  -c:a aac -b:a 64k "${meta[@]}" "$out/video.mp4"
# The point of this sample: check that moov really comes after mdat (ffprobe's trace lists the
# top-level atoms in file order).
order=$(ffprobe -v trace "$out/video.mp4" 2>&1 | grep -oE "type:'(moov|mdat)' parent:'root'" | grep -oE "moov|mdat" | tr '\n' ' ')
if [[ "$order" != "mdat moov " ]]; then
  echo "make-samples: video.mp4 top-level atoms are '$order', expected 'mdat moov' (moov at the end)" >&2
  exit 1
fi

# Voice note: Ogg/Opus mono, as WhatsApp records them.
if command -v espeak-ng >/dev/null; then
  wav=$(mktemp --suffix=.wav)
  trap 'rm -f "$wav"' EXIT
  espeak-ng -s 150 -w "$wav" "Hello. This is a voice note, played through the media proxy."
  "${ff[@]}" -i "$wav" -ac 1 -ar 48000 -c:a libopus -b:a 24k -application voip "${meta[@]}" "$out/voice.ogg"
else
  "${ff[@]}" -f lavfi -i sine=frequency=440:duration=4 -ac 1 -c:a libopus -b:a 24k "${meta[@]}" "$out/voice.ogg"
fi

# Sticker: a 512x512 WebP, the size WhatsApp stickers have.
"${ff[@]}" -f lavfi -i mandelbrot=size=512x512:rate=1 -frames:v 1 -c:v libwebp -quality 70 "${meta[@]}" "$out/sticker.webp"

# Documents carrying script: the proxy must never let it run on its origin. The script, if it ran,
# would leave marks a test can look for: the title, a console line, storage and a cookie.
mark='document.title = "script ran"; console.log("sample script ran: %s"); try { localStorage.setItem("sample-script-ran", "%s"); document.cookie = "sample_script_ran=%s; path=/"; } catch (e) {}'
# shellcheck disable=SC2059
printf '<svg xmlns="http://www.w3.org/2000/svg" width="240" height="120" viewBox="0 0 240 120">
  <title>drawing</title>
  <rect width="240" height="120" fill="#2a9d8f"/>
  <text x="20" y="68" font-family="sans-serif" font-size="22" fill="#fff">an SVG with script</text>
  <script>'"$mark"'</script>
</svg>
' svg svg svg >"$out/drawing.svg"
# shellcheck disable=SC2059
printf '<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>page</title></head>
<body>
<h1>An HTML document with script</h1>
<script>'"$mark"'</script>
</body>
</html>
' html html html >"$out/page.html"

# PDF: one page with one line of text, written by hand; the xref table needs each object's byte
# offset, so the file is assembled piece by piece.
pdf="$out/document.pdf"
objects=(
  '<< /Type /Catalog /Pages 2 0 R >>'
  '<< /Type /Pages /Kids [3 0 R] /Count 1 >>'
  '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 420 200] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>'
  ''
  '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>'
)
stream='BT /F1 24 Tf 40 100 Td (A PDF through the proxy) Tj ET'
objects[3]="<< /Length ${#stream} >>
stream
${stream}
endstream"
printf '%%PDF-1.4\n' >"$pdf"
offsets=()
for i in "${!objects[@]}"; do
  offsets+=("$(stat -c %s "$pdf")")
  printf '%d 0 obj\n%s\nendobj\n' "$((i + 1))" "${objects[$i]}" >>"$pdf"
done
xref=$(stat -c %s "$pdf")
{
  printf 'xref\n0 %d\n0000000000 65535 f \n' "$((${#objects[@]} + 1))"
  for offset in "${offsets[@]}"; do printf '%010d 00000 n \n' "$offset"; done
  printf 'trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n' "$((${#objects[@]} + 1))" "$xref"
} >>"$pdf"

du -b "$out"/* | sort -k2
echo "total: $(cat "$out"/* | wc -c) bytes"
