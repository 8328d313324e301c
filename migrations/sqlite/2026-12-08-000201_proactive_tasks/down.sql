DROP TABLE proactive_tasks;
