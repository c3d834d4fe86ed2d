module github.com/gorpyc/rpyc

go 1.24

require github.com/nlpodyssey/gopickle v0.2.0
