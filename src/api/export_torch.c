/* export_torch.c — a run's model as a standalone PyTorch file (nnrun export --pytorch,
 * run.to_torch()).  Written from the evaluation graph's forward nodes, one statement per
 * node, so the module computes what nnrun's evaluation computes, in nnrun's conventions
 * (linear weights [in, out], BatchNorm's variance, running std or var and eps as the spec
 * set them).  Parameters and buffers keep nnrun's names (dots become "__" in the state
 * dict); load(path) reads them from model.safetensors with a small reader of its own, so
 * the file needs only torch.  Ops PyTorch cannot express here — a plugin's activation, a
 * formula activation, the counting model — are refused with a message. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "config.h"
#include "ir/op.h"

/* "vN": the Python variable of tensor N. */
static const char *var(int t, char *buf)
{
    sprintf(buf, "v%d", t);
    return buf;
}

/* self.P("name") reads a parameter or buffer by its nnrun name. */
static void p_ref(FILE *f, const nn_graph *g, int t)
{
    fprintf(f, "self.P(\"%s\")", g->t[t].name);
}

/* The first op of the forward pass the export cannot express, or NULL. */
static const char *unsupported(const nn_graph *g, const nn_node **at)
{
    for (int i = 0; i < g->nfwd; i++) {
        const char *op = g->n[i].op->name;
        *at = &g->n[i];
        if (!strcmp(op, "plugin"))
            return "a plugin's activation (a C function PyTorch cannot call)";
        if (!strcmp(op, "expr")) return "a formula activation (activation: {expr})";
    }
    return NULL;
}

static void emit_bn(FILE *f, const nn_graph *g, const nn_node *n)
{
    char x[16], y[16];
    const nn_bn_attr *a = &n->bn;
    const nn_tensor *xt = &g->t[n->in[0]];
    int over_batch = n->spec->over_batch && xt->ndim > 2;
    fprintf(f, "        %s = self.batchnorm(%s, ", var(n->out[0], y), var(n->in[0], x));
    p_ref(f, g, n->in[1]);
    fprintf(f, ", ");
    p_ref(f, g, n->in[2]);
    fprintf(f,
            ", \"%s\", \"%s\", eps=%.9g, momentum=%.9g, unbiased=%d, pytorch=%d, "
            "running_std=%d, over_batch=%d)\n",
            g->t[n->in[3]].name, g->t[n->in[4]].name, (double)a->eps, (double)a->momentum,
            a->unbiased, a->pytorch, a->running_std, over_batch);
}

/* makemore.py's RNN or GRU over the positions: in[1] the start state, then (weight, bias)
 * per gate (gru: z, r, hbar). */
static void emit_recurrent(FILE *f, const nn_node *n, const nn_graph *g)
{
    char x[16], y[16];
    int gru = n->spec->cell == NN_CELL_GRU, gates = gru ? 3 : 1;
    fprintf(f, "        %s = self.recurrent(%s, ", var(n->out[0], y), var(n->in[0], x));
    p_ref(f, g, n->in[1]);
    fprintf(f, ", [");
    for (int k = 0; k < 2 * gates; k++) {
        if (k) fprintf(f, ", ");
        if (n->in[2 + k] >= 0)
            p_ref(f, g, n->in[2 + k]);
        else
            fprintf(f, "None");
    }
    fprintf(f, "], gru=%s)\n", gru ? "True" : "False");
}

static void emit_attention(FILE *f, const nn_node *n, const nn_graph *g)
{
    char x[16], y[16];
    const nn_tensor *xt = &g->t[n->in[0]];
    int c = xt->dim[2] / 3, nh = n->spec->heads;
    fprintf(f, "        %s = self.attention(%s, heads=%d, width=%d, causal=%s)\n",
            var(n->out[0], y), var(n->in[0], x), nh, c, n->spec->causal ? "True" : "False");
}

/* One forward node as a statement; −1 for an op without a PyTorch form here. */
static int emit_node(FILE *f, const nn_graph *g, const nn_node *n)
{
    const char *op = n->op->name;
    char x[16], y[16], z[16];
    const nn_tensor *out = n->out[0] >= 0 ? &g->t[n->out[0]] : NULL;
    if (!strcmp(op, "embedding")) {
        fprintf(f, "        %s = F.embedding(%s.long(), ", var(n->out[0], y), var(n->in[0], x));
        p_ref(f, g, n->in[1]);
        fprintf(f, ")\n");
        if (n->in[2] >= 0) {
            fprintf(f, "        %s = %s + ", y, y);
            p_ref(f, g, n->in[2]);
            fprintf(f, "[: %s.shape[1]]\n", x);
        }
    } else if (!strcmp(op, "embedding_window")) {
        fprintf(f, "        %s = self.embedding_window(%s, ", var(n->out[0], y), var(n->in[0], x));
        p_ref(f, g, n->in[1]);
        fprintf(f, ", window=%d)\n", n->spec->window);
    } else if (!strcmp(op, "onehot")) {
        fprintf(f, "        %s = F.one_hot(%s.long(), %d).float()\n", var(n->out[0], y),
                var(n->in[0], x), g->vocab);
    } else if (!strcmp(op, "flatten") || !strcmp(op, "flatten_consecutive")) {
        fprintf(f, "        %s = %s.reshape(%s.shape[0]", var(n->out[0], y), var(n->in[0], x), x);
        for (int k = 1; k < out->ndim; k++)
            fprintf(f, ", %d", out->dim[k]);
        fprintf(f, ")\n");
    } else if (!strcmp(op, "linear")) {
        fprintf(f, "        %s = %s @ ", var(n->out[0], y), var(n->in[0], x));
        p_ref(f, g, n->in[1]);
        if (n->in[2] >= 0) {
            fprintf(f, " + ");
            p_ref(f, g, n->in[2]);
        }
        fprintf(f, "\n");
    } else if (!strcmp(op, "batchnorm")) {
        emit_bn(f, g, n);
    } else if (!strcmp(op, "tanh") || !strcmp(op, "relu") || !strcmp(op, "sigmoid")) {
        fprintf(f, "        %s = torch.%s(%s)\n", var(n->out[0], y), op, var(n->in[0], x));
    } else if (!strcmp(op, "gelu")) {
        fprintf(f, "        %s = F.gelu(%s, approximate=\"%s\")\n", var(n->out[0], y),
                var(n->in[0], x), n->spec->approximate ? "tanh" : "none");
    } else if (!strcmp(op, "layernorm")) {
        fprintf(f, "        %s = F.layer_norm(%s, (%d,), ", var(n->out[0], y), var(n->in[0], x),
                g->t[n->in[0]].dim[g->t[n->in[0]].ndim - 1]);
        if (n->in[1] >= 0) {
            p_ref(f, g, n->in[1]);
            fprintf(f, ", ");
            p_ref(f, g, n->in[2]);
        } else {
            fprintf(f, "None, None");
        }
        fprintf(f, ", eps=%.9g)\n", n->spec->eps);
    } else if (!strcmp(op, "attention")) {
        emit_attention(f, n, g);
    } else if (!strcmp(op, "recurrent")) {
        emit_recurrent(f, n, g);
    } else if (!strcmp(op, "dropout")) {
        fprintf(f, "        %s = F.dropout(%s, p=%.9g, training=self.training)\n",
                var(n->out[0], y), var(n->in[0], x), n->spec->p);
    } else if (!strcmp(op, "causal_mean")) {
        fprintf(f,
                "        %s = torch.cumsum(%s, 1) / torch.arange(1, %s.shape[1] + 1, "
                "dtype=%s.dtype, device=%s.device).view(1, -1, 1)\n",
                var(n->out[0], y), var(n->in[0], x), x, x, x);
    } else if (!strcmp(op, "residual_add")) {
        fprintf(f, "        %s = %s + %s\n", var(n->out[0], y), var(n->in[1], x), var(n->in[0], z));
    } else {
        return -1;
    }
    return 0;
}

static const char PRELUDE[] = "import json\n"
                              "import struct\n\n"
                              "import torch\n"
                              "import torch.nn as nn\n"
                              "import torch.nn.functional as F\n\n\n";

static const char HELPERS[] =
    "    def P(self, name):\n"
    "        \"\"\"A parameter or buffer by its nnrun name.\"\"\"\n"
    "        key = name.replace(\".\", \"__\")\n"
    "        return self.params[key] if key in self.params else getattr(self, key)\n\n"
    "    def batchnorm(self, x, gamma, beta, rmean, rstat, eps, momentum, unbiased, pytorch,\n"
    "                  running_std, over_batch):\n"
    "        \"\"\"nnrun's BatchNorm: over every axis but the last (over_batch: the batch axis\n"
    "        only), normalised by sqrt(var + eps) with var ÷ m or ÷ (m − 1) (unbiased); the\n"
    "        running buffer holds the std (running_std) or the variance (÷ (m − 1) with\n"
    "        pytorch).  Eval mode uses the running buffers.\"\"\"\n"
    "        rm, rs = self.P(rmean), self.P(rstat)\n"
    "        if not self.training:\n"
    "            std = rs if running_std else torch.sqrt(rs + eps)\n"
    "            return gamma * (x - rm) / std + beta\n"
    "        dims = (0,) if over_batch else tuple(range(x.dim() - 1))\n"
    "        m = 1\n"
    "        for d in dims:\n"
    "            m *= x.shape[d]\n"
    "        mean = x.mean(dims)\n"
    "        var = ((x - mean) ** 2).sum(dims) / (m - 1 if unbiased else m)\n"
    "        std = torch.sqrt(var + eps)\n"
    "        with torch.no_grad():\n"
    "            rm.mul_(1 - momentum).add_(momentum * mean)\n"
    "            if running_std and not pytorch:\n"
    "                rs.mul_(1 - momentum).add_(momentum * std)\n"
    "            else:\n"
    "                v = var * (m / (m - 1) if pytorch else 1.0)\n"
    "                rs.mul_(1 - momentum).add_(momentum * (torch.sqrt(v + eps) if running_std "
    "else v))\n"
    "        return gamma * (x - mean) / std + beta\n\n"
    "    @staticmethod\n"
    "    def attention(x, heads, width, causal):\n"
    "        \"\"\"The core between the two linears: x [B, T, 3C] holds q, k, v.\"\"\"\n"
    "        b, t, _ = x.shape\n"
    "        q, k, v = x.split(width, dim=2)\n"
    "        hs = width // heads\n"
    "        q, k, v = (a.view(b, t, heads, hs).transpose(1, 2) for a in (q, k, v))\n"
    "        att = (q @ k.transpose(-2, -1)) * (1.0 / hs ** 0.5)\n"
    "        if causal:\n"
    "            mask = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()\n"
    "            att = att.masked_fill(~mask, float(\"-inf\"))\n"
    "        att = F.softmax(att, dim=-1)\n"
    "        return (att @ v).transpose(1, 2).reshape(b, t, width)\n\n"
    "    @staticmethod\n"
    "    def embedding_window(x, table, window):\n"
    "        \"\"\"Each position: the embeddings of its `window` latest tokens, newest first;\n"
    "        the table's last row stands before the start.\"\"\"\n"
    "        t = x.shape[1]\n"
    "        padded = F.pad(x.long(), (window - 1, 0), value=table.shape[0] - 1)\n"
    "        parts = [F.embedding(padded[:, window - 1 - k: window - 1 - k + t], table)\n"
    "                 for k in range(window)]\n"
    "        return torch.cat(parts, dim=2)\n\n"
    "    @staticmethod\n"
    "    def recurrent(x, start, ws, gru):\n"
    "        \"\"\"makemore.py's cells over the positions of x [B, T, E] from the learned start\n"
    "        state, on [x_t, h]: rnn h = tanh([x, h]·W + b); gru z = σ([x, h]·Wz + bz),\n"
    "        r = σ([x, h]·Wr + br), h̄ = tanh([x, r·h]·Wh + bh), h = (1 − z)·h + z·h̄ (weights\n"
    "        [in, out], as every nnrun linear).\"\"\"\n"
    "        def lin(a, w, b):\n"
    "            return a @ w + b if b is not None else a @ w\n"
    "        h = start.expand(x.shape[0], -1)\n"
    "        out = []\n"
    "        for t in range(x.shape[1]):\n"
    "            xh = torch.cat([x[:, t], h], dim=1)\n"
    "            if gru:\n"
    "                z = torch.sigmoid(lin(xh, ws[0], ws[1]))\n"
    "                r = torch.sigmoid(lin(xh, ws[2], ws[3]))\n"
    "                hbar = torch.tanh(lin(torch.cat([x[:, t], r * h], dim=1), ws[4], ws[5]))\n"
    "                h = (1 - z) * h + z * hbar\n"
    "            else:\n"
    "                h = torch.tanh(lin(xh, ws[0], ws[1]))\n"
    "            out.append(h)\n"
    "        return torch.stack(out, 1)\n\n";

static const char LOADER[] =
    "\n\ndef read_safetensors(path):\n"
    "    \"\"\"{name: tensor} from a safetensors file (float32 and int32 only).\"\"\"\n"
    "    with open(path, \"rb\") as f:\n"
    "        n = struct.unpack(\"<Q\", f.read(8))[0]\n"
    "        header = json.loads(f.read(n))\n"
    "        data = f.read()\n"
    "    out = {}\n"
    "    types = {\"F32\": torch.float32, \"I32\": torch.int32}\n"
    "    for name, info in header.items():\n"
    "        if name == \"__metadata__\":\n"
    "            continue\n"
    "        a, b = info[\"data_offsets\"]\n"
    "        t = torch.frombuffer(bytearray(data[a:b]), dtype=types[info[\"dtype\"]])\n"
    "        out[name] = t.reshape(info[\"shape\"])\n"
    "    return out\n\n\n"
    "def load(path, strict=True):\n"
    "    \"\"\"The model with the weights of `path` (nnrun's model.safetensors), in eval "
    "mode.\"\"\"\n"
    "    model = Model()\n"
    "    tensors = read_safetensors(path)\n"
    "    with torch.no_grad():\n"
    "        for name in model.NAMES:\n"
    "            if name not in tensors:\n"
    "                if strict:\n"
    "                    raise KeyError(\"%s has no tensor %s\" % (path, name))\n"
    "                continue\n"
    "            dst = model.P(name)\n"
    "            if tuple(dst.shape) != tuple(tensors[name].shape):\n"
    "                raise ValueError(\"%s: %s is %s in the file, %s in the model\"\n"
    "                                 % (path, name, list(tensors[name].shape), list(dst.shape)))\n"
    "            dst.copy_(tensors[name])\n"
    "    return model.eval()\n";

/* Writes the module for r's model to f; −1 with an error in r when it cannot. */
static int write_module(nnrun_run *r, FILE *f, const char *from)
{
    const nn_graph *g = nn_trainer_graph(r->tr, NN_EVALUATION);
    const nn_spec *spec = r->spec->s;
    const nn_params *P = nn_trainer_params(r->tr);
    fprintf(f,
            "\"\"\"%s: nnrun's model of spec '%s' as a standalone PyTorch module.\n\n"
            "Written by nnrun %s (nnrun export --pytorch) from %s.\n"
            "    model = load(\"model.safetensors\")   # eval mode, nnrun's weights\n"
            "    logits = model(x)\n"
            "x: %s.  Parameters and buffers keep nnrun's names\n"
            "(model.P(\"layers.2.weight\")); linear weights are [in, out] as in nnrun.\n"
            "\"\"\"\n",
            spec->name, spec->name, PACKAGE_VERSION, from,
            g->features ? "float features [batch, FEATURES]"
                        : "token ids [batch, CONTEXT] (int64 or int32)");
    fputs(PRELUDE, f);
    fprintf(f, "VOCAB = %d\nCONTEXT = %d\nFEATURES = %d\n\n\n", g->vocab, g->context, g->features);
    fprintf(f, "class Model(nn.Module):\n"
               "    NAMES = [");
    for (int i = 0; i < P->n; i++)
        fprintf(f, "%s\"%s\"", i ? ", " : "", P->p[i].name);
    fprintf(f, "]\n\n    def __init__(self):\n        super().__init__()\n"
               "        self.params = nn.ParameterDict()\n");
    for (int i = 0; i < P->n; i++) {
        const nn_param *p = &P->p[i];
        char key[64];
        snprintf(key, sizeof key, "%s", p->name);
        char mangled[128], *w = mangled;
        for (const char *c = key; *c && w < mangled + sizeof mangled - 3; c++)
            if (*c == '.')
                *w++ = '_', *w++ = '_';
            else
                *w++ = *c;
        *w = 0;
        if (p->role == NN_PARAM)
            fprintf(f, "        self.params[\"%s\"] = nn.Parameter(torch.zeros(", mangled);
        else
            fprintf(f, "        self.register_buffer(\"%s\", torch.zeros(", mangled);
        for (int k = 0; k < p->ndim; k++)
            fprintf(f, "%s%d", k ? ", " : "", p->dim[k]);
        fprintf(f, "))\n");
    }
    fprintf(f, "\n");
    fputs(HELPERS, f);
    char x[16];
    fprintf(f,
            "    def forward(self, x):\n        \"\"\"The logits for x.\"\"\"\n"
            "        %s = x\n",
            var(g->x, x));
    for (int i = 0; i < g->nfwd; i++) {
        const nn_node *n = &g->n[i];
        if (emit_node(f, g, n) != 0) {
            nn_api_error(&r->err, "%s: the PyTorch export cannot express the op '%s' yet",
                         n->spec ? n->spec->name : "the model", n->op->name);
            return -1;
        }
        if (n->out[0] == g->logits) break; /* the loss follows */
    }
    fprintf(f, "        return %s\n", var(g->logits, x));
    fputs(LOADER, f);
    return 0;
}

int nnrun_export_pytorch(nnrun_run *r, const char *path)
{
    if (!r) return NNRUN_EINPUT;
    if (nn_api_errors_reset(&r->err) != 0) return NNRUN_ERUN;
    if (!path) return nn_api_error(&r->err, "nnrun_export_pytorch: no path given"), NNRUN_EINPUT;
    const nn_graph *g = nn_trainer_graph(r->tr, NN_EVALUATION);
    if (!g) {
        nn_api_error(&r->err, "the counting model (ngram) is a table of counts, not a network: "
                              "there is no PyTorch module to export");
        return NNRUN_EINPUT;
    }
    const nn_node *at = NULL;
    const char *why = unsupported(g, &at);
    if (why) {
        nn_mark m = at && at->spec ? at->spec->mark : (nn_mark){r->spec->s->path, 0, 0};
        nn_diag_error(r->err.d, m, "the PyTorch export cannot express %s", why);
        nn_diag_note(r->err.d, "export a model of builtin layers (tanh, relu, sigmoid, gelu, ...)");
        return NNRUN_EINPUT;
    }
    size_t n = strlen(path) + 8;
    char *tmp = malloc(n);
    if (!tmp) return nn_api_error(&r->err, "out of memory"), NNRUN_ERUN;
    snprintf(tmp, n, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        nn_api_error(&r->err, "cannot write '%s': %s", path, strerror(errno));
        free(tmp);
        return NNRUN_EOUTPUT;
    }
    int rc = write_module(r, f, r->dir ? r->dir : r->spec->s->path);
    if (ferror(f) | (fclose(f) != 0) && rc == 0) {
        nn_api_error(&r->err, "cannot write '%s': %s", path, strerror(errno));
        rc = -2;
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        nn_api_error(&r->err, "cannot write '%s': %s", path, strerror(errno));
        rc = -2;
    }
    if (rc != 0) remove(tmp);
    free(tmp);
    return rc == 0 ? NNRUN_OK : rc == -2 ? NNRUN_EOUTPUT : NNRUN_EINPUT;
}
