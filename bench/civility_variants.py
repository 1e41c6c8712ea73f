"""Civility variants on held-out news comments: which classifier, features and data rank them best?

    .venv/bin/python bench/civility_variants.py > bench/results/civility_variants.txt   # ~15 minutes

Held out: 20% of civil-comments-toxic-spans (seeded as in bench/civility_mix.py), never trained on;
alt-profanity-check's predict_prob on the same comments. Features (modkit's TextTfidf +
TextStats, the static embedding) are fitted once per training mix; then one classifier per line.
Each line prints (uncivil-or-abusive ROC-AUC, second figure): for "binary svm" lines the second
figure is a separate abusive-vs-rest SVM's abusive ROC-AUC; for every other line it is the same
civil-vs-rest score's ROC-AUC on abusive (not an abusive model: read only the first figure).
"mix" = tweets + news + seed labels, "news" = without the tweets. modkit 0.2.0's features (no
identity blinding).
"""
import sys, time, warnings, json
from pathlib import Path
import numpy as np, scipy.sparse as sp
from sklearn.metrics import roc_auc_score
from sklearn.linear_model import SGDClassifier, LogisticRegression, Ridge
ROOT = Path(__file__).resolve().parent.parent; sys.path.insert(0, str(ROOT / "src"))
warnings.simplefilter("ignore")
from profanity_check import predict_prob
from modkit import data, model
from modkit.features import TextTfidf, TextStats, lexicon_hits
from modkit.embedding import TextEmbedding
from modkit.labels import schema_for
td = model.gather(schema_for(ROOT/"labels"), ROOT/"labels", [ROOT/"seeds"], data=["civil-comments-toxic-spans","davidson-2017"])
civ = td.examples["civility"].reset_index(drop=True)
rng = np.random.default_rng(0)
cc = (civ["source"]=="civil-comments-toxic-spans").to_numpy()
held = cc & (rng.random(len(civ)) < 0.2)
test = civ[held].reset_index(drop=True); train = civ[~held].reset_index(drop=True)
yt = test["civility"].to_numpy().astype(str)
apc = predict_prob(test["text"].tolist())
lex = data.load_lexicon(ROOT/"data")
def fig(pu, pa): return (round(roc_auc_score(yt!="civil", pu),4), round(roc_auc_score(yt=="abusive", pa),4))
print("APC", fig(apc, apc), flush=True)
# graded target
share = train.get("share_not_toxic")
print(train.columns.tolist())
def run(name, tr):
    y = tr["civility"].to_numpy().astype(str)
    w = model.balanced_weights(tr["civility"], tr["source"])
    tf = TextTfidf(max_words=30000, max_chars=50000).fit(tr)
    st = TextStats(lexicon=lex).fit(tr)
    Xtr = sp.hstack([tf.transform(tr), st.transform(tr)]).tocsr(); Xte = sp.hstack([tf.transform(test), st.transform(test)]).tocsr()
    tfw = TextTfidf(max_words=30000, max_chars=1).fit(tr)
    emb = TextEmbedding().fit()
    Etr, Ete = emb.transform(tr), emb.transform(test)
    ybin = (y!="civil").astype(int); yab = (y=="abusive").astype(int)
    for a in (1e-5, 3e-5, 1e-4, 3e-4, 1e-3):
        c = SGDClassifier(loss="hinge", alpha=a, max_iter=20, tol=None, random_state=0).fit(Xtr, ybin, sample_weight=w)
        c2 = SGDClassifier(loss="hinge", alpha=a, max_iter=20, tol=None, random_state=0).fit(Xtr, yab, sample_weight=w)
        print(name, "binary svm", a, fig(c.decision_function(Xte), c2.decision_function(Xte)), flush=True)
    for C in (0.3, 1, 3):
        c = LogisticRegression(C=C, max_iter=1000).fit(Xtr, ybin, sample_weight=w)
        print(name, "binary logreg", C, fig(c.decision_function(Xte), c.decision_function(Xte)), flush=True)
    XEtr = sp.hstack([Xtr, sp.csr_matrix(Etr)]).tocsr(); XEte = sp.hstack([Xte, sp.csr_matrix(Ete)]).tocsr()
    for a in (3e-5, 1e-4, 3e-4):
        c = SGDClassifier(loss="hinge", alpha=a, max_iter=20, tol=None, random_state=0).fit(XEtr, ybin, sample_weight=w)
        print(name, "binary svm+emb", a, fig(c.decision_function(XEte), c.decision_function(XEte)), flush=True)
    for C in (1, 10):
        c = LogisticRegression(C=C, max_iter=2000).fit(Etr, ybin, sample_weight=w)
        print(name, "emb only logreg", C, fig(c.decision_function(Ete), c.decision_function(Ete)), flush=True)
    Wtr, Wte = sp.hstack([tfw.transform(tr), st.transform(tr)]).tocsr(), sp.hstack([tfw.transform(test), st.transform(test)]).tocsr()
    for a in (3e-5, 1e-4, 3e-4):
        c = SGDClassifier(loss="hinge", alpha=a, max_iter=20, tol=None, random_state=0).fit(Wtr, ybin, sample_weight=w)
        print(name, "binary svm words only", a, fig(c.decision_function(Wte), c.decision_function(Wte)), flush=True)
    if "share_not_toxic" in tr:
        g = tr["share_not_toxic"].to_numpy(dtype=float)
        tox = np.where(np.isnan(g), ybin.astype(float), 1-g)
        for a in (1, 3, 10):
            r = Ridge(alpha=a).fit(Xtr, tox, sample_weight=w)
            print(name, "ridge on share toxic", a, fig(r.predict(Xte), r.predict(Xte)), flush=True)
            r = Ridge(alpha=a).fit(XEtr, tox, sample_weight=w)
            print(name, "ridge+emb on share toxic", a, fig(r.predict(XEte), r.predict(XEte)), flush=True)
run("mix", train)
run("news", train[train["source"]!="davidson-2017"].reset_index(drop=True))
