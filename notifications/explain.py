"""Why a notification exists, and what became of it, in one sentence (English or French).

The sentence opens with what actually happened (sent, not sent yet, not sent and why),
then gives the reason the offer was chosen, frozen in ``Notification.reason``.
"""

from __future__ import annotations

from notifications.models import Notification

_TRIGGERS = {
    "enter": ("entered", "êtes entré·e chez"),
    "dwell": ("stayed a while at", "êtes resté·e un moment chez"),
    "exit": ("left", "êtes sorti·e de chez"),
}
_ZONES = {
    "geofence": ("the area “{}”", "la zone « {} »"),
    "beacon": ("the beacon zone “{}”", "la zone de balise « {} »"),
}
_RULES = {
    "one_per_offer_per_day": (
        "at most one push per offer per day, outside your quiet hours and within your daily limit",
        "au plus une notification par offre et par jour, hors de vos heures calmes "
        "et dans votre limite quotidienne",
    ),
    "one_per_look_per_day": (
        "at most one push per look per day, outside your quiet hours and within your daily limit",
        "au plus une notification par look et par jour, hors de vos heures calmes "
        "et dans votre limite quotidienne",
    ),
    "broadcast": (
        "a flash offer the store sent to people nearby, outside your quiet hours and within "
        "your daily limit",
        "une offre flash envoyée par le magasin aux personnes à proximité, hors de vos heures "
        "calmes et dans votre limite quotidienne",
    ),
}
# How offers and looks share the daily limit (notifications.decide).
_ORDER = (
    "when the limit leaves room for fewer, the store's offers matching your interests "
    "come before friends' looks",
    "quand la limite laisse moins de place, les offres du magasin qui correspondent à vos "
    "centres d'intérêt passent avant les looks de vos amis",
)
# The rule that set a decision against its nearest rival (Decision.decided_by); "kind",
# offers before looks, is _ORDER.
_DECIDED_BY = {
    "priority": (
        "the store gave the one that went first a higher priority",
        "le magasin a donné une priorité plus haute à celle passée en premier",
    ),
    "overlap": (
        "the one that went first matches more of your interests",
        "celle passée en premier correspond à plus de vos centres d'intérêt",
    ),
    "fairness": (
        "at equal priority and match, the store that had not notified you as recently went first",
        "à priorité et correspondance égales, le magasin qui vous avait notifié le moins "
        "récemment est passé en premier",
    ),
    "freshness": (
        "at equal priority and match, the newer one went first",
        "à priorité et correspondance égales, la plus récente est passée en premier",
    ),
    "id": (
        "at equal priority and match, the earlier one goes first",
        "à priorité et correspondance égales, la plus ancienne passe en premier",
    ),
}
_PURPOSES = {
    "location_offers": ("offers near you", "les offres près de vous"),
    "beacon_proximity": ("in-store beacon offers", "les offres des balises en magasin"),
    "friends_looks": ("your friends' looks", "les looks de vos amis"),
}
_NOT_YET = (
    "Not sent yet: delivery is in progress. It was chosen",
    "Pas encore envoyée : l'envoi est en cours. Elle a été choisie",
)
# How the sentence opens, by status: only a notification that reached a device says "Sent".
_LEADS = {
    "sent": ("Sent", "Envoyée"),
    "partial": ("Sent", "Envoyée"),
    "pending": _NOT_YET,
    "retrying": _NOT_YET,
    "no_device": (
        "Not sent: no device was registered to receive it. It was chosen",
        "Non envoyée : aucun appareil n'était enregistré pour la recevoir. Elle a été choisie",
    ),
    "failed": (
        "Not sent: delivery to your devices failed. It was chosen",
        "Non envoyée : l'envoi vers vos appareils a échoué. Elle a été choisie",
    ),
    "held_out": (
        "Not sent: you were drawn into the store's comparison group for this offer (a random "
        "share of people who get no push, so the store can tell whether its offers help). "
        "It was chosen",
        "Non envoyée : vous avez été tiré au sort dans le groupe de comparaison du magasin "
        "pour cette offre (une part de personnes qui ne reçoivent rien, pour mesurer l'effet "
        "de ses offres). Elle a été choisie",
    ),
    "deferred": (
        "Not sent yet: it came during your quiet hours and waits for their end. It was chosen",
        "Pas encore envoyée : elle tombait pendant vos heures calmes et attend leur fin. "
        "Elle a été choisie",
    ),
    "cancelled": (
        "Not sent: by the end of your quiet hours you no longer wanted it (consent or mute). "
        "It was chosen",
        "Non envoyée : à la fin de vos heures calmes, vous n'en vouliez plus (consentement "
        "ou sourdine). Elle a été choisie",
    ),
    "expired": (
        "Expired: it was only useful during your visit, which ended. It was chosen",
        "Expirée : elle ne servait que pendant votre visite, qui est terminée. Elle a été choisie",
    ),
}
_SUPPRESSED = {
    "quiet_hours": (
        "Not sent: it came during your quiet hours. It was chosen",
        "Non envoyée : elle tombait pendant vos heures calmes. Elle a été choisie",
    ),
    "daily_cap": (
        "Not sent: your daily limit of notifications was reached. It was chosen",
        "Non envoyée : votre limite quotidienne de notifications était atteinte. "
        "Elle a été choisie",
    ),
}
_HELD_BACK = (
    "Not sent: your delivery preferences held it back. It was chosen",
    "Non envoyée : vos préférences d'envoi l'ont bloquée. Elle a été choisie",
)


def _join(items: list[str], last: str) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {last} {items[-1]}"


def _lead(note: Notification, lang: int) -> str:
    if note.expired_at is not None:  # withdrawn on the EXIT, whatever its delivery did
        return _LEADS["expired"][lang]
    if note.status == "suppressed":
        return _SUPPRESSED.get(str(note.reason.get("suppressed", "")), _HELD_BACK)[lang]
    return _LEADS.get(note.status or "pending", _NOT_YET)[lang]


def explain(note: Notification, locale: str) -> str:
    """What happened to this notification and why it was chosen, in the user's language.

    Names the store, the zone and what the user did there, the segments the offer shares
    with their choices (with their labels), the consent it relied on, and the rule.
    """
    fr = locale.lower().startswith("fr")
    lang = 1 if fr else 0
    reason = note.reason
    labels: dict[str, dict[str, str]] = reason.get("labels", {})
    segments = [
        labels.get(slug, {}).get("fr" if fr else "en", slug) for slug in reason.get("segments", [])
    ] or ["—"]
    store = reason.get("store", "")
    verb = _TRIGGERS.get(note.trigger, ("were near", "étiez près de"))[lang]
    kind = reason.get("zone_kind", "")
    zone = _ZONES.get(kind, ("the zone “{}”", "la zone « {} »"))[lang].format(
        reason.get("zone_name", note.zone)
    )
    rule_id = reason.get("rule", "")
    rule = _RULES.get(rule_id, (rule_id, rule_id))[lang]
    purpose_id = reason.get("purpose", "")
    purpose = _PURPOSES.get(purpose_id, (purpose_id, purpose_id))[lang]
    lead = _lead(note, lang)
    competed = _competed(reason.get("competed", []), lang, reason.get("decided_by"))
    if reason.get("kind") == "look":
        return _look(reason, lead, verb, store, zone, purpose, rule, lang) + competed
    if fr:
        consent = f", et que vous avez accepté {purpose}" if purpose else ""
        return (
            f"{lead} parce que vous {verb} {store} ({zone}), que cette offre vise "
            f"{_join(segments, 'et')}, que vous suivez{consent} ; règle : {rule}."
        ) + competed
    consent = f", and you agreed to {purpose}" if purpose else ""
    return (
        f"{lead} because you {verb} {store} ({zone}), this offer targets "
        f"{_join(segments, 'and')}, which you follow{consent}; rule: {rule}."
    ) + competed


def _competed(others: list[str], lang: int, decided_by: str | None) -> str:
    if not others:
        return ""
    # Reasons recorded before decided_by existed were ordered by kind alone.
    rule = _DECIDED_BY.get(decided_by or "kind", _ORDER)[lang]
    if lang:
        return f" Elle a été mise en balance avec {_join(others, 'et')} ; {rule}."
    return f" It was weighed against {_join(others, 'and')}; {rule}."


def _look(
    reason: dict[str, str],
    lead: str,
    verb: str,
    store: str,
    zone: str,
    purpose: str,
    rule: str,
    lang: int,
) -> str:
    """A friend's look: who posted it (display name only), why it ranked first."""
    friend = reason.get("friend", "")
    ranking = reason.get("ranking", "")
    if lang:
        return (
            f"{lead} parce que vous {verb} {store} ({zone}) et qu'un look de {friend} "
            f"présente des articles vendus là ; classé premier parmi les looks de vos amis "
            f"({ranking}) ; vous avez accepté {purpose} ; règle : {rule}."
        )
    return (
        f"{lead} because you {verb} {store} ({zone}) and a look by {friend} features items "
        f"sold there; it ranked first among your friends' looks ({ranking}); you agreed to "
        f"{purpose}; rule: {rule}."
    )
