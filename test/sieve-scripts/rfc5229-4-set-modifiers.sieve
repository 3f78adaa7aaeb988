# RFC 5229 §4: set and its modifiers, made visible as flags and a mailbox name.
require ["variables", "fileinto", "imap4flags"];
set "honorific"  "Mr";
set "first_name" "Wile";
set "last_name"  "Coyote";
set "vacation" text:
Dear ${HONORIFIC} ${last_name},
I'm out, please leave a message after the meep.
.
;
set "a" "juMBlEd lETteRS";
set :length "b" "${a}";
addflag "len-${b}";
set :lower "b" "${a}";
addflag "${b}";
set :upperfirst "b" "${a}";
addflag "uf-${b}";
set :upperfirst :lower "b" "${a}";
addflag "ufl-${b}";
set :quotewildcard "b" "Rock*";
if string :is "${b}" "Rock\\*" { addflag "quoted"; }
set :lowerfirst :upper "c" "hello";
addflag "lfu-${c}";
set :length "vlen" "${vacation}";
fileinto "v-${first_name}-${vlen}";
if string :matches "${vacation}" "Dear * *,*" { fileinto "dear-${1}-${2}"; }
