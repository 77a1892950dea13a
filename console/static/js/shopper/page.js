// A shopper's own data, plainly: what they agreed to, what they follow, what was sent to
// them and why, their points, which stores may know them; a copy of it all, and erasure.
// Signed in with their user token (vu_…); every call here is one the app makes too.
import { html, useState, useEffect } from "../html.js";
import { api } from "../api.js";
import { t } from "../i18n.js";
import { Consent } from "./consent.js";
import { Interests, Activations } from "./interests.js";
import { Notifications, Points, IdShares } from "./history.js";
import { Rights } from "./rights.js";

export function ShopperPage({ lang, signOut }) {
  const [segments, setSegments] = useState(null);
  useEffect(() => { api("GET", "/v1/segments").then(setSegments); }, []);
  const label = (seg) => (lang === "fr" ? seg.label_fr : seg.label_en);
  return html`
    <section class="card" aria-labelledby="me-title">
      <h2 id="me-title">${t("me.title")}</h2>
      <p>${t("me.intro")}</p>
      <nav aria-label=${t("me.contents")}><ul class="me-toc">
        ${["consent", "interests", "activations", "notifications", "points", "shares", "rights"].map((id) => html`
          <li><a href=${`#me-${id}`}>${t(`me.toc_${id}`)}</a></li>`)}
      </ul></nav>
    </section>
    <${Consent} lang=${lang} />
    <${Interests} segments=${segments} label=${label} />
    <${Activations} segments=${segments} label=${label} lang=${lang} />
    <${Notifications} lang=${lang} />
    <${Points} lang=${lang} />
    <${IdShares} />
    <${Rights} signOut=${signOut} />`;
}
