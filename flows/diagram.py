"""The conversation drawn from the machine's own transitions (Mermaid), so the picture never drifts."""

from __future__ import annotations

from flows.conversation import ANY, STATES, TRANSITIONS

#: always-available commands are drawn once, as a note, not as an arrow from every state
GLOBAL = frozenset(
    {"start", "restart", "help", "urgent", "choose_language", "forget", "stop", "back", "alarm", "mydata"}
)


def _label(transition: dict[str, object]) -> str:
    cond = transition.get("conditions")
    conds = [cond] if isinstance(cond, str) else list(cond or [])  # type: ignore[call-overload]
    text = str(transition["trigger"])
    if conds:
        text += " [" + ", ".join(str(c) for c in conds) + "]"
    return text


def mermaid() -> str:
    lines = ["stateDiagram-v2", "    [*] --> welcome"]
    seen: set[tuple[str, str, str]] = set()
    for transition in TRANSITIONS:
        if transition["trigger"] in GLOBAL or transition["dest"] is None:
            continue
        sources = transition["source"] if isinstance(transition["source"], list) else [transition["source"]]
        for source in sources:
            if source == ANY:
                continue
            edge = (str(source), str(transition["dest"]), _label(transition))
            if edge not in seen:
                seen.add(edge)
                lines.append(f"    {edge[0]} --> {edge[1]}: {edge[2]}")
    lines.append("    done --> [*]")
    lines.append(
        "    note right of welcome\n        from every state: /start, /restart, /help, /urgent, /language,"
        " /forget, /mydata, /stop, back\n"
        "        danger caught in typed words (alarm): the numbers, then danger, then back\n    end note"
    )
    unused = [s for s in STATES if not any(s in (e[0], e[1]) for e in seen) and s not in ("welcome", "language")]
    for s in unused:
        lines.append(f"    {s}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(mermaid(), end="")
