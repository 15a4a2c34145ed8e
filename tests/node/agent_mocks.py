"""The mocks the Node.js suite starts from, written with the Python builder and handed over with
``mockllm export tests.node.agent_mocks:m``: the same file a team would share between languages."""

from mockllm import mock

m = mock()
# A two-step tool loop on chat: the question asks for a tool, the tool's result gets the answer.
m.openai_chat().named("weather-call").when_last_message_contains("weather").reply_tool_call(
    "get_weather", {"city": "Paris"}, id="call_paris"
)
m.openai_chat().named("weather-answer").when_tool_result("call_paris", contains="Sunny").reply(
    "It is sunny in Paris."
)
m.openai_responses().named("haiku").when_input_contains("haiku").reply("Tests run at dawn")
