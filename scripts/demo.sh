#!/usr/bin/env bash
# demo.sh: loads a demo flash sale through the admin API (called by
# `flashctl demo DIR` with FLASH_CONF set): four items with pictures, one
# activity starting two minutes from now, published and warmed. Then prints
# the shop URL and the admin token. Harmless to run again: while a demo sale
# that has not ended exists, it only prints them.
set -euo pipefail
CONF=${FLASH_CONF:?FLASH_CONF must name the flashsale.conf of the stack}
conf() { awk -F' *= *' -v k="$1" '$1 == k { v = $2 } END { print v }' "$CONF"; }
API=http://127.0.0.1:$(conf http_port)
TOKEN=$(conf admin_token)
SHOP=$(conf public_url)
NAME="Demo flash sale"
say() { echo "demo: $*" >&2; }

# call METHOD PATH [JSON]: the body of a 2xx answer on stdout, else fail loudly
call() {
	local out code body=()
	# a POST always carries a JSON object; a GET carries nothing
	local empty='{}'
	[ "$1" = GET ] || body=(-H 'Content-Type: application/json' --data-binary "${3:-$empty}")
	out=$(curl -sS -X "$1" -H "Authorization: Bearer $TOKEN" "${body[@]}" \
		-w '\n%{http_code}' "$API$2") || { say "$1 $2: no answer from $API"; exit 1; }
	code=${out##*$'\n'}; out=${out%$'\n'*}
	case $code in 2??) printf '%s' "$out" ;; *) say "$1 $2: $code $out"; exit 1 ;; esac
}
# field NAME: the first integer value of "NAME" in the JSON on stdin
field() { grep -o "\"$1\":[0-9]*" | head -1 | cut -d: -f2; }

# upload NAME: a small picture for the item, its URL on stdout
upload() {
	local b64 out code
	case $1 in
	kettle) b64=iVBORw0KGgoAAAANSUhEUgAAADAAAAAwCAIAAADYYG7QAAAAeElEQVR42u3YsQ2AQAxDUQ/GJMzEktQsQMkGXHTkohh9yQO8LnZ0XnerCBAgQIAAZYG2/XhPHWhI+cLSUs2ESUspEyzVaOImT1CKJmhSpSZicgOla4YmQIAAAQJkDuK4OvYhKqzp6ui4y5ou147bnncMIECAfg16AMJ/cxvbPYMeAAAAAElFTkSuQmCC ;;
	headphones) b64=iVBORw0KGgoAAAANSUhEUgAAADAAAAAwCAIAAADYYG7QAAAAeElEQVR42u3YsQ2AQAxDUc/EEMzOFNTMQMUGXHTkohh9yQO8LnZ0X2erCBAgQIAAZYGOfXtPHWhI+cLSUs2ESUspEyzVaOImT1CKJmhSpSZicgOla4YmQIAAAQJkDuK4OvYhKqzp6ui4y5ou147bnncMIECAfg16AN8Mq61Eato/AAAAAElFTkSuQmCC ;;
	backpack) b64=iVBORw0KGgoAAAANSUhEUgAAADAAAAAwCAIAAADYYG7QAAAAd0lEQVR42u3YUQ2AQAyD4WpCBJoQfBIQgANuOXbLSv6kAr63tdO4R6sIECBAgABlgY7rfE8daEr5wtJWzYJJWykLLNVo4iZPUIomaFKlJmJyA6VrpiZAgAABAmQO4rg69iEqrOnq6LjLmi7XjtuedwwgQIB+DXoAOmO4slPeeZcAAAAASUVORK5CYII= ;;
	lamp) b64=iVBORw0KGgoAAAANSUhEUgAAADAAAAAwCAIAAADYYG7QAAAAd0lEQVR42u3YsQ2AQAxDUU/C7MxEzRwUVGzARUcuitGXPMDrYkf3dbaKAAECBAhQFujYt/fUgYaULywt1UyYtJQywVKNJm7yBKVogiZVaiImN1C6ZmgCBAgQIEDmII6rYx+iwpqujo67rOly7bjteccAAgTo16AHgLPQ4B6xy9UAAAAASUVORK5CYII= ;;
	esac
	out=$(printf '%s' "$b64" | base64 -d | curl -sS -X POST -H "Authorization: Bearer $TOKEN" \
		-H 'Content-Type: image/png' --data-binary @- -w '\n%{http_code}' "$API/api/admin/images")
	code=${out##*$'\n'}; out=${out%$'\n'*}
	[ "${code:0:1}" = 2 ] || { say "image $1: $code $out"; exit 1; }
	printf '%s' "$out" | grep -o '"url":"[^"]*"' | cut -d'"' -f4
}

done_msg() {
	echo "Demo sale: activity $1, starts $(date -d "@$(($2 / 1000))" '+%H:%M:%S')"
	echo "Shop:        $SHOP/"
	echo "Admin page:  $SHOP/admin.html"
	echo "Admin token: $TOKEN"
}

now=$(date +%s%3N)
list=$(call GET /api/admin/activities)
# an earlier run's sale that has not ended: nothing to do
while read -r aid status end; do
	[ -n "$aid" ] || continue
	if [ "$status" = published ] && [ "$end" -gt "$now" ]; then
		start=$(call GET "/api/admin/activities/$aid" | field start_ms)
		say "a demo sale is loaded already"
		done_msg "$aid" "$start"
		exit 0
	fi
done < <(printf '%s' "$list" |
	grep -o "\"activity_id\":[0-9]*,\"name\":\"$NAME\",\"description\":\"[^\"]*\",\"status\":\"[a-z]*\",\"start_ms\":[0-9]*,\"end_ms\":[0-9]*" |
	sed -E 's/^"activity_id":([0-9]+),.*"status":"([a-z]+)","start_ms":[0-9]+,"end_ms":([0-9]+)$/\1 \2 \3/')

start=$(( (now / 1000 + 120) * 1000 ))
end=$(( start + 2 * 3600 * 1000 ))
aid=$(call POST /api/admin/activities "{\"name\":\"$NAME\",\"description\":\"Four things at a fraction of their price, for two hours. One each, first come first served.\",\"start_ms\":$start,\"end_ms\":$end}" | field activity_id)

# name|title|description|price|flash price|stock for the sale|per-user limit|picture
while IFS='|' read -r name title desc price flash stock limit pic; do
	url=$(upload "$pic")
	iid=$(call POST /api/admin/items "{\"name\":\"$name\",\"title\":\"$title\",\"description\":\"$desc\",\"price_cents\":$price,\"stock\":$((stock * 4)),\"images\":[\"$url\"]}" | field item_id)
	call POST "/api/admin/activities/$aid/items" "{\"item_id\":$iid,\"flash_price_cents\":$flash,\"stock\":$stock,\"per_user_limit\":$limit}" >/dev/null
	say "item $iid: $name, $stock for the sale"
done <<'ITEMS'
Aurora electric kettle|1.7 l stainless steel kettle with temperature control|Five presets from 70 to 100 degrees, keep-warm for 30 minutes, boil-dry protection and a 360-degree base.|6900|2900|50|1|kettle
Quiet One headphones|Over-ear wireless headphones with noise cancelling|Up to 40 hours of play, multipoint Bluetooth 5.3, a fold-flat case and a cable for the plane.|19900|7900|20|1|headphones
Trailhead 28 backpack|28 l daypack, water resistant, with a laptop sleeve|Recycled ripstop shell, padded 16-inch sleeve, side bottle pockets and a lifetime warranty on zips.|8900|3900|30|1|backpack
Lumen desk lamp|Dimmable LED desk lamp with a wireless charger in its base|Five colour temperatures, memory of the last setting, USB-C power and a 10 W Qi pad.|5900|1900|10|1|lamp
ITEMS

call POST "/api/admin/activities/$aid/publish" >/dev/null
call POST "/api/admin/activities/$aid/warmup" >/dev/null
say "activity $aid published and warmed"
done_msg "$aid" "$start"
