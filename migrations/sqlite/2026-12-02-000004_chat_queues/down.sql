DROP TABLE chat_queues;
