// The push as a phone shows it, and the "why" sentence the shopper reads in the app: the
// same shape as notifications/explain.py, for a push that was sent.
import { html } from "../html.js";
import { t } from "../i18n.js";

const join = (items, last) => (items.length < 2 ? items[0] || "—" : `${items.slice(0, -1).join(", ")} ${last} ${items[items.length - 1]}`);

export function whySentence({ store, draft, segments, features, lang }) {
  const fr = lang === "fr";
  const labelOf = (slug) => {
    const s = segments.find((x) => x.slug === slug);
    return s ? (fr ? s.label_fr : s.label_en) : slug;
  };
  const picked = features.filter((f) => draft.geofence_ids.includes(f.id));
  const beacon = draft.zones.length > 0 && picked.length === 0;
  const zoneName = beacon ? draft.zones[0] : (picked[0] || features[0])?.properties.name || "—";
  const zone = beacon
    ? (fr ? `la zone de balise « ${zoneName} »` : `the beacon zone “${zoneName}”`)
    : (fr ? `la zone « ${zoneName} »` : `the area “${zoneName}”`);
  const verb = {
    enter: ["entered", "êtes entré·e chez"], dwell: ["stayed a while at", "êtes resté·e un moment chez"],
    exit: ["left", "êtes sorti·e de chez"],
  }[draft.trigger] || ["were near", "étiez près de"];
  const purpose = beacon
    ? ["in-store beacon offers", "les offres des balises en magasin"]
    : ["offers near you", "les offres près de vous"];
  const rule = [
    "at most one push per offer per day, outside your quiet hours and within your daily limit",
    "au plus une notification par offre et par jour, hors de vos heures calmes et dans votre limite quotidienne",
  ];
  const names = draft.segments.map(labelOf);
  if (fr) {
    return `Envoyée parce que vous ${verb[1]} ${store.name} (${zone}), que cette offre vise ${join(names, "et")}, `
      + `que vous suivez, et que vous avez accepté ${purpose[1]} ; règle : ${rule[1]}.`;
  }
  return `Sent because you ${verb[0]} ${store.name} (${zone}), this offer targets ${join(names, "and")}, `
    + `which you follow, and you agreed to ${purpose[0]}; rule: ${rule[0]}.`;
}

export function PushPreview(props) {
  const { store, draft } = props;
  return html`
    <aside class="preview" aria-labelledby="preview-title">
      <h2 id="preview-title">${t("preview.title")}</h2>
      <div class="phone" aria-label=${t("preview.phone")}>
        <div class="push">
          <p class="push-app">Vicinity · ${store.name}</p>
          <p class="push-title">${draft.title || t("preview.no_title")}</p>
          <p class="push-body">${draft.body || t("preview.no_body")}</p>
        </div>
      </div>
      <h3>${t("preview.why")}</h3>
      <p class="why">${whySentence(props)}</p>
      ${draft.holdout_pct > 0 && html`<p class="hint">${t("preview.holdout", { pct: draft.holdout_pct })}</p>`}
    </aside>`;
}
