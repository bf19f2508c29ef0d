"""translate: English -> Spanish from a small grammar.

Sentences are ``NP is/are ADJ`` or ``NP VERB NP``, where a noun phrase is
``the|a [size] [colour] noun``. Spanish articles agree with the noun in gender
and number, adjectives agree too and move after the noun (``the big black cat``
-> ``el gato negro grande``: colour first, then size), verbs agree with the
subject's number in present and past. Every Spanish word comes from one English
word, so the expected cross-attention is the word alignment, with the adjective
swap; a word that agrees with a noun (article, adjective, past-tense verb) may
also look at that noun, which carries its gender and number. Held-out sentences are new combinations of known words.
"""
KIND = "seq2seq"
DESCRIPTION = "English -> Spanish from a small grammar: cross-attention learns the word alignment"

# English singular, English plural (None: no plural), Spanish singular, Spanish plural, gender
NOUNS = [
    ("cat", "cats", "gato", "gatos", "m"), ("dog", "dogs", "perro", "perros", "m"),
    ("bird", "birds", "pájaro", "pájaros", "m"), ("boy", "boys", "niño", "niños", "m"),
    ("book", "books", "libro", "libros", "m"), ("car", "cars", "coche", "coches", "m"),
    ("ball", "balls", "bola", "bolas", "f"), ("house", "houses", "casa", "casas", "f"),
    ("girl", "girls", "niña", "niñas", "f"), ("apple", "apples", "manzana", "manzanas", "f"),
    ("table", "tables", "mesa", "mesas", "f"), ("milk", None, "leche", None, "f"),
]
# English -> Spanish forms (masculine singular, feminine singular, masculine plural, feminine plural)
COLOURS = {
    "black": ("negro", "negra", "negros", "negras"), "white": ("blanco", "blanca", "blancos", "blancas"),
    "red": ("rojo", "roja", "rojos", "rojas"), "yellow": ("amarillo", "amarilla", "amarillos", "amarillas"),
    "blue": ("azul", "azul", "azules", "azules"), "green": ("verde", "verde", "verdes", "verdes"),
}
SIZES = {"big": ("grande", "grande", "grandes", "grandes"),
         "small": ("pequeño", "pequeña", "pequeños", "pequeñas")}
ARTICLES = {"the": ("el", "la", "los", "las"), "a": ("un", "una", None, None)}
# English (singular present, plural present, past) -> Spanish (present sg, present pl, past sg, past pl)
VERBS = [
    (("drinks", "drink", "drank"), ("bebe", "beben", "bebió", "bebieron")),
    (("eats", "eat", "ate"), ("come", "comen", "comió", "comieron")),
    (("sees", "see", "saw"), ("ve", "ven", "vio", "vieron")),
    (("wants", "want", "wanted"), ("quiere", "quieren", "quiso", "quisieron")),
]
COPULA = {"is": "es", "are": "son"}

_NOUN = {}          # English noun form -> (Spanish form, gender, plural)
for en, en_pl, es, es_pl, gender in NOUNS:
    _NOUN[en] = (es, gender, False)
    if en_pl:
        _NOUN[en_pl] = (es_pl, gender, True)
_VERB = {}          # English verb form -> (Spanish forms, tense index, plural or None for past)
for forms, spanish in VERBS:
    _VERB[forms[0]] = (spanish, 0, False)
    _VERB[forms[1]] = (spanish, 0, True)
    _VERB[forms[2]] = (spanish, 1, None)
_ADJECTIVES = {**COLOURS, **SIZES}

VOCAB = sorted({w for en, en_pl, es, es_pl, _ in NOUNS for w in (en, en_pl, es, es_pl) if w}
               | {w for table in (COLOURS, SIZES, ARTICLES) for en, forms in table.items()
                  for w in (en, *forms) if w}
               | {w for forms, spanish in VERBS for w in forms + spanish}
               | set(COPULA) | set(COPULA.values()))

MAX_LEN = 10
# One head per layer: with four, the heads split the words between them (one takes
# the verbs, another the nouns...) and no single head shows the whole alignment.
DEFAULTS = dict(d_model=64, heads=1, layers=2, ff=128, batch_size=64, steps=1500,
                lr=2e-3, warmup=200, eval_every=500)


def _form(forms, gender, plural):
    return forms[2 * plural + (gender == "f")]


def _noun_phrase(rng):
    """English words of a random noun phrase, and whether it is plural."""
    en, en_pl = NOUNS[int(rng.integers(len(NOUNS)))][:2]
    plural = en_pl is not None and rng.random() < 0.4
    article = "the" if plural or rng.random() < 0.7 else "a"
    words = [article]
    if rng.random() < 0.3:
        words.append(list(SIZES)[int(rng.integers(len(SIZES)))])
    if rng.random() < 0.5:
        words.append(list(COLOURS)[int(rng.integers(len(COLOURS)))])
    return words + [en_pl if plural else en], plural


def example(rng):
    subject, plural = _noun_phrase(rng)
    if rng.random() < 0.4:
        adjective = list(_ADJECTIVES)[int(rng.integers(len(_ADJECTIVES)))]
        english = subject + ["are" if plural else "is", adjective]
    else:
        forms = VERBS[int(rng.integers(len(VERBS)))][0]
        verb = forms[2] if rng.random() < 0.5 else forms[1 if plural else 0]
        english = subject + [verb] + _noun_phrase(rng)[0]
    return english, translate(english)[0]


def _translate_noun_phrase(words, start):
    """Spanish words of the noun phrase at ``start``, each with the English positions
    that carry it; returns (pairs, next position, noun position, gender, plural)."""
    end = start
    while words[end] not in _NOUN:
        end += 1
    spanish, gender, plural = _NOUN[words[end]]
    # The article and the adjectives agree with the noun: the noun carries their
    # gender and number, the English word the rest.
    out = [(_form(ARTICLES[words[start]], gender, plural), [start, end]), (spanish, [end])]
    adjectives = range(start + 1, end)   # English order: size then colour
    for i in sorted(adjectives, key=lambda i: words[i] in SIZES):   # Spanish: colour, then size
        out.append((_form(_ADJECTIVES[words[i]], gender, plural), [i, end]))
    return out, end + 1, end, gender, plural


def translate(english):
    """The grammar's Spanish for an English sentence, and for each Spanish word the
    English positions that carry it: the word it translates first, then, for a word
    that agrees (article, adjective, past-tense verb), the noun it agrees with."""
    out, i, noun, gender, plural = _translate_noun_phrase(english, 0)
    if english[i] in COPULA:
        out.append((COPULA[english[i]], [i]))
        out.append((_form(_ADJECTIVES[english[i + 1]], gender, plural), [i + 1, noun]))
    else:
        forms, tense, _ = _VERB[english[i]]
        # A present-tense English verb shows the number ("drinks"); a past one does not.
        out.append((forms[2 * tense + plural], [i] if tense == 0 else [i, noun]))
        out += _translate_noun_phrase(english, i + 1)[0]
    return [w for w, _ in out], [p for _, p in out]


def expected_attention(source, target):
    """The word alignment: each Spanish word looks at the English word it translates
    (and a word that agrees, at the noun it agrees with)."""
    return translate(source)[1]
