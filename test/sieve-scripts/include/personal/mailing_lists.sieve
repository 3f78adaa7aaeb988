# RFC 6609 §3.2: included twice with :once, runs once.
require ["fileinto"];
if exists "list-id" { fileinto "lists"; }
