#!/usr/bin/env bash
# Opens a recap-caption --html gallery in headless Chromium (Debian package `chromium`):
# renders a screenshot to look at, and checks in the live DOM that every card is there,
# every thumbnail decoded, and that sorting by score orders the cards.
# Usage: scripts/check_gallery.sh gallery.html [screenshot.png]
set -euo pipefail
html=$(realpath "$1")
png=${2:-${html%.html}.png}
# Only this check needs a browser, so setup.sh installs one only when asked (--gallery).
"$(dirname "$0")/setup.sh" --gallery --no-build >/dev/null
browser=$(command -v chromium || true)
[ -n "$browser" ] || { echo "check_gallery: chromium not installed (scripts/setup.sh --gallery)" >&2; exit 2; }
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --allow-file-access-from-files
       --virtual-time-budget=3000 --user-data-dir="$(mktemp -d)")

cards=$(grep -o 'class="card"' "$html" | wc -l)
[ "$cards" -gt 0 ] || { echo "check_gallery: $html has no cards" >&2; exit 1; }

"$browser" "${flags[@]}" --window-size=1280,2400 --screenshot="$png" "file://$html" 2>/dev/null
[ -s "$png" ] || { echo "check_gallery: no screenshot written" >&2; exit 1; }

# The DOM after the page's script ran, sorted best first through the page's own control.
dom=$("$browser" "${flags[@]}" --dump-dom "file://$html#sort=desc" 2>/dev/null)
rendered=$(grep -o 'class="card"' <<<"$dom" | wc -l)
[ "$rendered" -eq "$cards" ] || { echo "check_gallery: $rendered of $cards cards in the DOM" >&2; exit 1; }
scores=$(grep -o 'class="card" data-order="[0-9]*" data-score="[-0-9.]*"' <<<"$dom" | sed 's/.*data-score="//; s/"$//')
sort -g -r -c <<<"$scores" || { echo "check_gallery: cards not sorted by score after sortCards('desc')" >&2; exit 1; }

# Every embedded thumbnail decodes to a real image (naturalWidth > 0): count them in the
# page itself and write the count into the DOM before it is dumped.
probe=$(mktemp --suffix=.html)
sed 's#</body>#<script>window.addEventListener("load",()=>{const i=[...document.images];document.title="decoded "+i.filter(x=>x.naturalWidth>0).length+" of "+i.length;});</script></body>#' "$html" >"$probe"
title=$("$browser" "${flags[@]}" --dump-dom "file://$probe" 2>/dev/null | grep -o '<title>decoded [0-9]* of [0-9]*</title>' || true)
rm -f "$probe"
images=$(grep -o 'src="data:image/jpeg;base64,' "$html" | wc -l)
[ "$title" = "<title>decoded $images of $images</title>" ] || { echo "check_gallery: thumbnails: ${title:-none decoded}" >&2; exit 1; }

echo "check_gallery: $cards cards, $images thumbnails decoded, sort by score works; screenshot $png"
