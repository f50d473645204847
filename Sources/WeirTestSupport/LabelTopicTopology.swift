/// The small topology the label-topic tests share (offline pipeline, in-process runner and the
/// `weir run` process tests): events `{event_id, ts, user, x}` on `events`, labels
/// `{event_id, is_fraud}` on `labels`, joined within 60 s; `name` prefixes the sink topics.
public func labelTopicTopology(name: String) -> String {
    """
    name: \(name)
    source: {topics: [events], key: user, event_time: ts}
    schema:
      event_id: {type: string}
      ts: {type: timestamp}
      user: {type: string}
      x: {type: double}
    model:
      inputs: [x]
      label_topic: {topic: labels, id_field: event_id, label_field: is_fraud, max_wait: 60s}
      learning_rate: 0.5
    """
}
