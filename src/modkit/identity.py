"""Identity terms: words that name a group of people.

A comment that names a group is not uncivil for it, so these words are never given alone as a
flag's reason ("uncivil terms: muslim" would tell a moderator that the model learned the group,
not the hostility). The bias figures of the model card are measured per term on
identity-madlibs (Dixon et al. 2018), whose terms are the first part of this list.

The list is about people, not about any one site's subject: nationality and religion words are
included because a model trained on news comments learns them from the stories they discuss.
"""

from __future__ import annotations

#: Identity terms of Dixon et al. (2018), longest first so "african american" wins over "american".
MADLIBS_TERMS = tuple(sorted((
    "lesbian", "gay", "bisexual", "transgender", "trans", "queer", "lgbt", "lgbtq", "homosexual",
    "straight", "heterosexual", "male", "female", "nonbinary", "african", "african american", "black",
    "white", "european", "hispanic", "latino", "latina", "latinx", "mexican", "canadian", "american",
    "asian", "indian", "middle eastern", "chinese", "japanese", "christian", "muslim", "jewish",
    "buddhist", "catholic", "protestant", "sikh", "taoist", "old", "older", "young", "younger",
    "teenage", "millenial", "middle aged", "elderly", "blind", "deaf", "paralyzed",
), key=len, reverse=True))

#: Words never given alone as a reason: the madlibs terms, their plurals and group nouns, and
#: common nationality, religion and ethnicity words (single words, lower case).
NEVER_A_REASON = frozenset({
    *(t for t in MADLIBS_TERMS if " " not in t),
    "gays", "lesbians", "blacks", "whites", "jews", "jew", "muslims", "islam", "islamic", "christians",
    "catholics", "hindu", "hindus", "arab", "arabs", "israel", "israeli", "israelis", "palestinian",
    "palestinians", "russia", "russian", "russians", "german", "germans", "germany", "french", "british",
    "english", "irish", "italian", "polish", "ukrainian", "ukrainians", "chinese", "china", "japan",
    "korean", "koreans", "mexicans", "immigrant", "immigrants", "refugee", "refugees", "asians",
    "africans", "americans", "europeans", "women", "woman", "men", "man", "girls", "boys", "transgenders",
    "native", "natives", "indigenous", "latinos", "hispanics", "christianity", "judaism", "muslim",
    "mormon", "mormons", "atheist", "atheists", "liberal", "liberals", "conservative", "conservatives",
})

#: Words a task with a bias flag never reads: its text features see the comment as if they were
#: not there (identity-term blinding, Garg et al. 2019), so a comment naming one group scores as
#: the same comment naming another, and no group word can make a civil comment look uncivil.
#: The words of the identity terms (multi-word ones included, so "middle eastern" and "gay"
#: both vanish whole) and :data:`NEVER_A_REASON`.
BLIND_TERMS = frozenset({
    *NEVER_A_REASON,
    *(w for t in MADLIBS_TERMS for w in t.split()),
})
