// Streams, topics, partitions and consumer groups (stub: filled in by the streams work).
export class StreamsState {}
