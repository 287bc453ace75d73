-- Serialises policy changes of one project, so the audited "old" value is
-- exactly what the change replaced (a project row lock; policies may not
-- have a row yet).
SELECT id FROM projects WHERE id = $1 FOR UPDATE
