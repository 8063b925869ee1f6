"""mash: re-normalise stored name keys with the transliteration table (Ł -> l, ß -> ss, ...)

The name keys (`triage_subjects` and `mash_children`, `given_name_norm`/`family_name_norm`)
used to drop Latin letters that do not decompose to a-z ("Łukasz" -> "ukasz"). They now
transliterate them ("lukasz"). Only rows whose raw name (the contact's stored record: the
MARF's or the front door's `subjects`, by the subject's position) holds
such a letter change. A row is rewritten only when its stored key is what the old rule gives
for that raw name, so a key from anywhere else is left alone; a child's key changes with the
subject it was made from. The rules are frozen copies here: the migration must not follow
later changes of `triage.contacts.facts`.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 21:10:00.000000
"""

import re
import unicodedata
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLE = str.maketrans(
    {
        "ł": "l",
        "ß": "ss",
        "ẞ": "ss",
        "ø": "o",
        "æ": "ae",
        "œ": "oe",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "ħ": "h",
        "\u0131": "i",  # dotless i
        "ŀ": "l",
        "ŧ": "t",
        "ŋ": "ng",
        "ĸ": "k",
        "\u017f": "s",  # long s
        "ƒ": "f",
        "ə": "e",
    }
)
# Contacts whose record holds one of the letters above (upper or lower case).
_LETTERS = "".join(sorted({c for k in _TABLE for c in (chr(k), chr(k).upper()) if not c.isascii()}))


def _old(raw: str | None) -> str | None:
    if not raw:
        return None
    decomposed = unicodedata.normalize("NFKD", raw)
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[^a-z]", "", letters.lower()) or None


def _new(raw: str | None) -> str | None:
    if not raw:
        return None
    decomposed = unicodedata.normalize("NFKD", raw.lower().translate(_TABLE))
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[^a-z]", "", letters.lower()) or None


def _rekey(
    src: Callable[[str | None], str | None], dst: Callable[[str | None], str | None]
) -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT s.id, s.contact_id, s.position, s.given_name_norm, s.family_name_norm,"
            " COALESCE(c.record -> 'marf' -> 'subjects', c.record -> 'contact' -> 'subjects')"
            " -> s.position AS subject"
            " FROM triage_subjects s JOIN triage_contacts c ON c.id = s.contact_id"
            " WHERE c.record::text ~ :letters"
        ),
        {"letters": f"[{_LETTERS}]"},
    ).all()
    for sid, contact_id, position, given_norm, family_norm, subject in rows:
        if not isinstance(subject, dict):
            continue
        mother = subject.get("mother") if isinstance(subject.get("mother"), dict) else {}
        given = subject.get("given_name")
        family = subject.get("family_name") or (mother or {}).get("family_name")
        if (src(given), src(family)) != (given_norm, family_norm):
            continue  # not the key this rule made from this record: leave it
        new_given, new_family = dst(given), dst(family)
        if (new_given, new_family) == (given_norm, family_norm):
            continue
        bind.execute(
            sa.text(
                "UPDATE triage_subjects SET given_name_norm = :g, family_name_norm = :f"
                " WHERE id = :id"
            ),
            {"g": new_given, "f": new_family, "id": sid},
        )
        bind.execute(
            sa.text(
                "UPDATE mash_children ch SET given_name_norm = :g, family_name_norm = :f"
                " FROM mash_child_links l WHERE l.child_id = ch.id"
                " AND l.contact_id = :contact AND l.subject_position = :position"
                " AND ch.given_name_norm IS NOT DISTINCT FROM :og"
                " AND ch.family_name_norm IS NOT DISTINCT FROM :of"
            ),
            {
                "g": new_given,
                "f": new_family,
                "og": given_norm,
                "of": family_norm,
                "contact": contact_id,
                "position": position,
            },
        )


def upgrade() -> None:
    _rekey(_old, _new)


def downgrade() -> None:
    _rekey(_new, _old)
