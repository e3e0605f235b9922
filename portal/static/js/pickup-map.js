// The pickup-point map (issue 20): the points of a [data-pickup-map] list on a Leaflet map beside
// it. The list stays the control the form submits: clicking a marker checks that point's radio
// (with a change event, as a click on it would), and focusing or checking a radio lights up its
// marker and brings it into view. Markers are not in the tab order; the list is. A list without
// radios (where a return can be handed in) only shows where: a marker lights up its list entry
// and a pointer over an entry lights up its marker.
//
// Leaflet (about 160 KB) loads only when a list comes near the screen, so the page's first load
// stays small. Without JavaScript, before Leaflet has loaded, or when no map tile loads, the page
// is just the list. htmx swaps in new lists (#delivery-options): they get a map of their own.
(() => {
  const script = document.currentScript;
  if (!script || !("IntersectionObserver" in window)) return;
  const config = script.dataset; // leafletJs, leafletCss, mapCss, tiles, attribution, label
  const TILE_WAIT_MS = 10000; // no tile by then: the map goes away again
  const maps = new Map(); // list element → its map's teardown
  let leaflet = null;
  let tilesFail = false; // once no tile loaded, no further map is tried on this page

  // Leaflet's stylesheet and script and the map's own stylesheet, once, when a list is near.
  function loadLeaflet() {
    if (!leaflet) {
      const files = [
        Object.assign(document.createElement("link"), { rel: "stylesheet", href: config.leafletCss }),
        Object.assign(document.createElement("link"), { rel: "stylesheet", href: config.mapCss }),
        Object.assign(document.createElement("script"), { src: config.leafletJs }),
      ];
      leaflet = Promise.all(
        files.map(
          (file) =>
            new Promise((resolve, reject) => {
              file.addEventListener("load", resolve);
              file.addEventListener("error", reject);
            }),
        ),
      ).then(() => window.L);
      document.head.append(...files);
    }
    return leaflet;
  }

  function build(list, L) {
    if (tilesFail || maps.has(list) || !list.isConnected) return;
    const points = [...list.querySelectorAll(".option[data-lat][data-lon]")]
      .map((option) => ({
        option,
        radio: option.querySelector("input[type=radio]"),
        name: option.querySelector("strong"),
        at: [Number(option.dataset.lat), Number(option.dataset.lon)],
      }))
      .map((p) => ({ ...p, key: p.radio || p.option }))
      .filter((p) => p.at.every(Number.isFinite));
    if (!points.length) return;

    const box = document.createElement("div");
    box.className = "pickup-map";
    box.setAttribute("role", "region");
    box.setAttribute("aria-label", config.label);
    list.after(box);
    const layout = list.parentElement;
    layout.classList.add("has-pickup-map");

    // keyboard: false keeps the map itself out of the tab order (the list does its job).
    const map = L.map(box, { keyboard: false, scrollWheelZoom: false, zoomSnap: 0.5 });
    const tiles = L.tileLayer(config.tiles, { attribution: config.attribution, maxZoom: 19 });
    let tileLoaded = false;
    const giveUp = () => {
      if (tileLoaded || !maps.has(list)) return;
      tilesFail = true;
      teardown();
    };
    const timer = setTimeout(giveUp, TILE_WAIT_MS);
    tiles.on("tileload", () => {
      tileLoaded = true;
      clearTimeout(timer);
    });
    // Every tile in view settled, none of them loaded. After Leaflet's own handling of the event
    // (it reads the map again once its listeners return), not from inside it.
    tiles.on("load", () => setTimeout(giveUp, 0));

    const numbers = [];
    const markers = new Map(); // radio (or, without one, the list entry) → marker
    points.forEach((p, i) => {
      const n = String(i + 1);
      const state = p.radio?.disabled ? " is-unavailable" : "";
      const icon = L.divIcon({
        className: `pickup-marker pickup-marker-${p.option.dataset.kind}${state}`,
        html: `<span>${n}</span>`,
        iconSize: [30, 30],
        iconAnchor: [15, 15],
      });
      const title = p.name ? p.name.textContent.trim() : "";
      const marker = L.marker(p.at, { icon, title, keyboard: false, riseOnHover: true });
      marker.on("click", () => {
        if (!p.radio) {
          light(p.option, false);
          p.option.scrollIntoView({ block: "nearest" });
          return;
        }
        if (p.radio.disabled) return;
        p.radio.checked = true;
        p.radio.dispatchEvent(new Event("change", { bubbles: true }));
      });
      marker.addTo(map);
      markers.set(p.key, marker);
      // The same number beside the list's radio, so list and map read together.
      const badge = Object.assign(document.createElement("span"), {
        className: `pickup-map-number pickup-marker-${p.option.dataset.kind}${state}`,
        textContent: n,
      });
      badge.setAttribute("aria-hidden", "true");
      if (p.radio) p.radio.after(badge);
      else p.option.prepend(badge);
      numbers.push(badge);
    });

    const bounds = L.latLngBounds(points.map((p) => p.at));
    map.fitBounds(bounds, { padding: [30, 30], maxZoom: 16 });
    tiles.addTo(map);

    let active = null;
    let lit = null; // the list entry lit up, in a list without radios
    const light = (key, pan) => {
      const marker = markers.get(key);
      if (active && active !== marker) {
        active.getElement()?.classList.remove("is-active");
        active.setZIndexOffset(0);
      }
      lit?.classList.remove("is-lit");
      lit = key && !key.matches("input") ? key : null;
      lit?.classList.add("is-lit");
      active = marker || null;
      if (!marker) return;
      marker.getElement()?.classList.add("is-active");
      marker.setZIndexOffset(1000);
      // Only as far as it takes to bring it into view: the others stay in sight where they can.
      if (pan) map.panInside(marker.getLatLng(), { padding: [40, 40] });
    };
    const checked = () => points.find((p) => p.radio?.checked)?.radio;
    const onFocus = (e) => light(e.target, true);
    const onChange = (e) => light(e.target, true);
    const onBlur = () => light(checked(), false);
    const onPoint = (e) => {
      const entry = e.target.closest(".option");
      if (entry && markers.has(entry)) light(entry, true);
    };
    list.addEventListener("mouseover", onPoint);
    list.addEventListener("focusin", onFocus);
    list.addEventListener("change", onChange);
    list.addEventListener("focusout", onBlur);
    light(checked(), false);

    function teardown() {
      clearTimeout(timer);
      maps.delete(list);
      list.removeEventListener("mouseover", onPoint);
      list.removeEventListener("focusin", onFocus);
      list.removeEventListener("change", onChange);
      list.removeEventListener("focusout", onBlur);
      map.remove();
      box.remove();
      numbers.forEach((badge) => badge.remove());
      layout.classList.remove("has-pickup-map");
    }
    maps.set(list, teardown);
  }

  const seen = new IntersectionObserver(
    (entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting) continue;
        seen.unobserve(entry.target);
        loadLeaflet().then(
          (L) => build(entry.target, L),
          () => {}, // no Leaflet: the list alone, as without JavaScript
        );
      }
    },
    { rootMargin: "400px 0px" },
  );

  function scan() {
    // A list htmx swapped out takes its map with it.
    for (const [list, teardown] of maps) if (!list.isConnected) teardown();
    if (tilesFail) return;
    document.querySelectorAll("[data-pickup-map]").forEach((list) => {
      if (!maps.has(list)) seen.observe(list);
    });
  }

  scan();
  document.addEventListener("htmx:afterSettle", scan);
})();
