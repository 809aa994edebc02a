"""Built-in entity dictionary: the default topics with their spellings in Latin, Russian and Kazakh."""

from __future__ import annotations

from core.models import Topic

# Aliases are literal spellings OR-ed with the query: one word follows the word rules (acronyms
# case-sensitive, capitalised names expanded), several words form a phrase whose words may end
# in `*` to cover Russian/Kazakh case forms ("Шанхайск* организаци*" = Шанхайской организации).
TASMAGAMBETOV = Topic(
    name="Tasmagambetov",
    query="Tasmagambetov",
    aliases=("Тасмагамбетов", "Imangali Tasmagambetov", "Имангали Тасмагамбетов*"),
)

TOKAYEV = Topic(
    name="Tokayev",
    query="Tokayev",
    aliases=("Tokaev", "Tokaiev", "Токаев", "Тоқаев", "Kassym-Jomart Tokayev"),
)

SCO = Topic(
    name="SCO",
    query="SCO OR ШОС OR ШЫҰ",
    aliases=(
        "Shanghai Cooperation Organisation",
        "Shanghai Cooperation Organization",
        "Шанхайск* организаци* сотрудничества",
        "Шанхай ынтымақтастық ұйым*",
    ),
)

CSTO = Topic(
    name="CSTO",
    query="CSTO OR ОДКБ OR ҰҚШҰ",
    aliases=(
        "Collective Security Treaty Organization",
        "Collective Security Treaty Organisation",
        "Организаци* Договора о коллективной безопасности",
        "Ұжымдық қауіпсіздік туралы шарт ұйым*",
    ),
)

JICA = Topic(
    name="JICA",
    query="JICA OR ДЖАЙКА",
    aliases=(
        "Japan International Cooperation Agency",
        "Японск* агентств* международного сотрудничества",
        "Жапонияның халықаралық ынтымақтастық агенттіг*",
    ),
)

BUILTIN_TOPICS: tuple[Topic, ...] = (TASMAGAMBETOV, TOKAYEV, SCO, CSTO, JICA)
