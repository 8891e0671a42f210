"""Branch: the conversation up to a message copied whole into a new conversation."""

from __future__ import annotations

from chatdesk.engine.types import Alternative, TokenChoice
from chatdesk.services.app_services import AppServices


def test_a_branch_copies_rows_metadata_and_token_probabilities(services: AppServices) -> None:
    store = services.store
    chat = store.create_conversation("Trip", system_prompt="Be brief.")
    question = store.append_message(chat.id, "user", "Capital of France?")
    reply = store.append_message(chat.id, "assistant", "Paris.", model="/m/smol.gguf")
    store.update_message(reply.id, stats={"completion_tokens": 2, "tokens_per_second": 40.0})
    store.set_reply_metadata(reply.id, n_ctx=8192, extra={"reasoning": "France: Paris."})
    kept = [TokenChoice(7, "Paris", 0.9, 1.0, (Alternative(7, "Paris", 0.9),))]
    store.save_token_probabilities(reply.id, kept)
    store.append_message(chat.id, "user", "And Spain?")

    branch = services.chat.branch(store.get_message(reply.id))

    copied = services.chat.messages(branch.id)
    assert [(m.role, m.content) for m in copied] == [
        ("user", question.content),
        ("assistant", "Paris."),
    ]
    new_reply = copied[1]
    assert new_reply.id != reply.id
    assert new_reply.parent_id == copied[0].id
    assert (new_reply.completion_tokens, new_reply.n_ctx, new_reply.model) == (
        2,
        8192,
        "/m/smol.gguf",
    )
    assert new_reply.extra == {"reasoning": "France: Paris."}
    assert store.token_probabilities(new_reply.id) == store.token_probabilities(reply.id)
    assert store.token_probabilities(new_reply.id)
    assert (branch.title, branch.system_prompt) == ("Trip (branch)", "Be brief.")
    assert len(services.chat.messages(chat.id)) == 3  # the source is as it was
