// The map every page draws on: Leaflet with the server's tile URL (VICINITY_TILE_URL) and
// its credit. Without tiles (unset, or unreachable) the shapes show on a blank background.
const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content || "";

export function baseMap(element) {
  const map = L.map(element, { zoomControl: true, keyboard: true });
  const url = meta("vicinity-tile-url");
  if (url) {
    L.tileLayer(url, { maxZoom: 19, attribution: meta("vicinity-tile-attribution") }).addTo(map);
  }
  return map;
}
