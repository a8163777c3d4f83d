#!/usr/bin/python3
"""Oracle for the chat-template golden tests (tests/unit/engine/chat/chat_golden_test.cpp).

Renders every template in tests/golden/chat/templates/ over the conversations in
tests/golden/chat/conversations.json with Python's jinja2 configured exactly as transformers'
apply_chat_template configures it (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks,
loopcontrols, a tojson filter that is json.dumps(ensure_ascii=False), raise_exception, and
strftime_now fixed to 2024-09-05 13:07:42 so the output is reproducible), and writes
tests/golden/chat/expected.json: one case per (template, conversation, add_generation_prompt)
with the full context and the rendered prompt, the raise_exception message ("error") or another
jinja2 failure ("runtime_error").

Regenerate after changing a template or a conversation:
    scripts/chat_golden.py
"""
import datetime
import json
import pathlib

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = pathlib.Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "chat"
FIXED_NOW = datetime.datetime(2024, 9, 5, 13, 7, 42)

# Special tokens each template gets, as transformers passes the tokenizer's special tokens map.
SPECIAL_TOKENS = {
    "qwen3.jinja": {"eos_token": "<|im_end|>"},
    "llama3.jinja": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
    "llama3_1_instruct.jinja": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
    "llama2_chat.jinja": {"bos_token": "<s>", "eos_token": "</s>"},
    "mistral_v0_3.jinja": {"bos_token": "<s>", "eos_token": "</s>"},
}


class TemplateException(Exception):
    pass


def make_environment():
    """The environment of transformers.utils.chat_template_utils._compile_jinja_template."""

    def raise_exception(message):
        raise TemplateException(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return FIXED_NOW.strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def render(env, source, context):
    try:
        return {"output": env.from_string(source).render(**context)}
    except TemplateException as e:
        return {"error": str(e)}
    except (jinja2.TemplateError, TypeError, ValueError) as e:
        # Any other failure (an operation on an undefined value, a type error): the C++ renderer
        # must fail too, with its own wording.
        return {"runtime_error": f"{type(e).__name__}: {e}"}


def chat_cases(env, spec):
    cases = []
    for template_name, tokens in SPECIAL_TOKENS.items():
        source = (GOLDEN / "templates" / template_name).read_text()
        for conversation in spec["conversations"]:
            for add_generation_prompt in (True, False):
                # transformers passes tools=None when the request has none, and documents=None.
                context = {"messages": conversation["messages"], "tools": conversation.get("tools"), "documents": None,
                           "add_generation_prompt": add_generation_prompt, **tokens, **conversation.get("extra", {})}
                case = {"template": template_name, "name": conversation["name"],
                        "add_generation_prompt": add_generation_prompt, "context": context}
                case.update(render(env, source, context))
                cases.append(case)
    return cases


def feature_cases(env, spec):
    cases = []
    for path in sorted((GOLDEN / "templates").glob("features_*.jinja")):
        case = {"template": path.name, "name": "features", "add_generation_prompt": False,
                "context": spec["feature_context"]}
        case.update(render(env, path.read_text(), spec["feature_context"]))
        cases.append(case)
    return cases


def main():
    spec = json.loads((GOLDEN / "conversations.json").read_text())
    env = make_environment()
    cases = chat_cases(env, spec) + feature_cases(env, spec)
    expected = {
        "oracle": f"scripts/chat_golden.py with Python jinja2 {jinja2.__version__} (transformers' settings)",
        "strftime_now": FIXED_NOW.isoformat(),
        "cases": cases,
    }
    (GOLDEN / "expected.json").write_text(json.dumps(expected, ensure_ascii=False, indent=1) + "\n")
    num_raised = sum(1 for c in cases if "error" in c)
    num_failed = sum(1 for c in cases if "runtime_error" in c)
    print(f"wrote {len(cases)} cases ({num_raised} raise_exception, {num_failed} other errors) to {GOLDEN / 'expected.json'}")


if __name__ == "__main__":
    main()
