// What happened with the shopper's data: the pushes sent to them and why, their points,
// and the stores whose webhooks may name them.
import { html, useState, useEffect } from "../html.js";
import { api } from "../api.js";
import { t } from "../i18n.js";

export function Notifications({ lang }) {
  const [page, setPage] = useState(null);
  const [older, setOlder] = useState([]);
  useEffect(() => { api("GET", "/v1/me/notifications").then(setPage); }, []);
  const more = async () => {
    const next = await api("GET", `/v1/me/notifications?after=${page.next_after}`);
    setOlder([...older, ...page.items]);
    setPage(next);
  };
  const when = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });
  const items = page ? [...older, ...page.items] : [];
  return html`
    <section class="card" id="me-notifications" aria-labelledby="notes-title">
      <h2 id="notes-title">${t("me.notifications")}</h2>
      <p>${t("me.notifications_intro")}</p>
      ${page === null ? html`<p class="loading">${t("loading")}</p>`
        : items.length === 0 ? html`<p class="empty" id="no-notifications">${t("me.notes_none")}</p>`
        : html`<ul class="plain notes">${items.map((n) => html`
            <li class="note" data-notification=${n.id}>
              <h3>${n.title}</h3>
              <p>${n.body}</p>
              <p class="meta"><time datetime=${n.created_at}>${when.format(new Date(n.created_at))}</time></p>
              <p class="why"><strong>${t("me.why")}</strong> ${n.why}</p>
            </li>`)}</ul>`}
      ${page?.next_after != null && html`<button type="button" onClick=${more}>${t("me.older")}</button>`}
    </section>`;
}

export function Points({ lang }) {
  const [points, setPoints] = useState(null);
  useEffect(() => { api("GET", "/v1/me/points").then(setPoints); }, []);
  const when = new Intl.DateTimeFormat(lang, { dateStyle: "medium" });
  const store = (id) => points.stores.find((s) => s.store_id === id)?.store_name || `#${id}`;
  return html`
    <section class="card" id="me-points" aria-labelledby="points-title">
      <h2 id="points-title">${t("me.points")}</h2>
      ${points === null ? html`<p class="loading">${t("loading")}</p>` : html`
        <p class="totals">${t("me.points_totals", { available: points.available, pending: points.pending })}</p>
        <p class="hint">${t("me.points_intro")}</p>
        ${points.stores.length > 0 && html`<div class="scroll"><table class="points">
          <caption class="sr-only">${t("me.points_by_store")}</caption>
          <thead><tr><th scope="col">${t("me.store")}</th><th scope="col">${t("me.available")}</th><th scope="col">${t("me.pending")}</th></tr></thead>
          <tbody>${points.stores.map((s) => html`<tr><th scope="row">${s.store_name}</th><td>${s.available}</td><td>${s.pending}</td></tr>`)}</tbody>
        </table></div>`}
        ${points.items.length > 0 && html`<details><summary>${t("me.points_lines")}</summary>
          <ul class="plain">${points.items.map((l) => html`<li>
            ${when.format(new Date(l.created_at))} · ${store(l.store_id)} · ${t(`me.kind_${l.kind}`)}
            ${l.available_change ? ` · ${t("me.available")} ${l.available_change > 0 ? "+" : ""}${l.available_change}` : ""}
            ${l.pending_change ? ` · ${t("me.pending")} ${l.pending_change > 0 ? "+" : ""}${l.pending_change}` : ""}
            ${l.origin.friend ? ` · ${t("me.from_friend", { friend: l.origin.friend })}` : ""}
          </li>`)}</ul></details>`}`}
    </section>`;
}

export function IdShares() {
  const [shares, setShares] = useState(null);
  const [status, setStatus] = useState("");
  useEffect(() => { api("GET", "/v1/me/id-shares").then(setShares); }, []);
  const keep = async (storeIds, said) => {
    setShares(await api("PUT", "/v1/me/id-shares", { store_ids: storeIds }));
    setStatus(said);
  };
  return html`
    <section class="card" id="me-shares" aria-labelledby="shares-title">
      <h2 id="shares-title">${t("me.shares")}</h2>
      <p>${t("me.shares_intro")}</p>
      <p class="status" role="status" aria-live="polite">${status}</p>
      ${shares === null ? html`<p class="loading">${t("loading")}</p>`
        : shares.store_ids.length === 0 ? html`<p class="empty">${t("me.shares_none")}</p>`
        : html`
          <p>${shares.in_force ? t("me.shares_in_force") : t("me.shares_not_in_force")}</p>
          <ul class="plain">${shares.store_ids.map((id) => html`<li>
            ${t("me.store_n", { id })}
            <button type="button" class="danger" onClick=${() => keep(shares.store_ids.filter((s) => s !== id), t("me.shares_stopped", { id }))}>
              ${t("me.shares_stop")}</button></li>`)}</ul>
          <button type="button" class="danger" onClick=${() => keep([], t("me.shares_all_stopped"))}>${t("me.shares_stop_all")}</button>`}
    </section>`;
}
